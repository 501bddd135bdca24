package modbus_test

import (
	"fmt"

	"github.com/otwin/otwin/connectors/modbus"
)

func ExampleParseRegister() {
	for _, s := range []string{"hr:0:float32:cdab", "ir:9:int16", "co:7:bool", "holding:20:uint64", "holding:40001:int16"} {
		r, err := modbus.ParseRegister(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%-20s %-28s %d register(s)\n", s, r, r.Count())
	}
	// Output:
	// hr:0:float32:cdab    holding:0:float32:CDAB       2 register(s)
	// ir:9:int16           input:9:int16                1 register(s)
	// co:7:bool            coil:7:bool                  1 register(s)
	// holding:20:uint64    holding:20:uint64:ABCDEFGH   4 register(s)
	// holding:40001:int16  holding:40001:int16          1 register(s)
}

func ExampleNew() {
	cfg := modbus.DefaultConfig()
	cfg.Name = "press1"
	cfg.Address = "10.0.0.7:502"
	cfg.UnitID = 1
	cfg.Points = []string{"holding:0:float32:CDAB", "coil:3:bool", "holding:7:int33"}
	_, err := modbus.New(cfg)
	fmt.Println(err)
	// Output:
	// modbus device "press1": point 3: point "holding:7:int33": unknown type "int33" (want int16, uint16, int32, uint32, int64, uint64, float32, float64 or bool)
}
