package modbusserver_test

import (
	"context"
	"fmt"
	"log"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/modbusserver"
)

// Serving every Modbus port of a scenario: one server per port, machines
// sharing a port answer under their own unit ids.
func Example() {
	sc, err := scenarios.Example("bottling")
	if err != nil {
		log.Fatal(err)
	}
	engine, err := twin.New(sc, twin.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ending ctx closes every server
	for _, ep := range sc.Endpoints() {
		if ep.Protocol != scenarios.ProtocolModbus {
			continue
		}
		// A free port here; a twin keeps the scenario's ep.Port.
		cfg := modbusserver.Config{Machines: ep.Machines}
		srv, err := modbusserver.New(engine, cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := srv.Start(ctx); err != nil {
			log.Fatal(err)
		}
		defer srv.Close()
		fmt.Println(cfg.Machines, "on", srv.Addr())
	}
}
