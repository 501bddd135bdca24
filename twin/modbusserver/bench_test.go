package modbusserver

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// benchScenario maps holding 0-124 of unit 1: 31 float32 in CDAB, 31
// scaled int16 and 1 float64 (31×2 + 31 + 4 = 97), then 28 uint16.
func benchScenario() *scenarios.Scenario {
	var tags []scenarios.Tag
	addr := 0
	add := func(tg scenarios.Tag) {
		tags = append(tags, tg)
		addr += regWidthTest(tg.Modbus.Type)
	}
	for i := 0; i < 31; i++ {
		add(mbTag(fmt.Sprintf("f%d", i), scenarios.Float32, "holding", addr, scenarios.Float32, "CDAB", sine(50, 10, time.Duration(5+i)*time.Second)))
		tg := mbTag(fmt.Sprintf("s%d", i), scenarios.Float64, "holding", addr, scenarios.Int16, "ABCD", sine(20, 5, time.Duration(7+i)*time.Second))
		tg.Modbus.Scale = 0.01
		add(tg)
	}
	add(mbTag("d", scenarios.Float64, "holding", addr, scenarios.Float64, "ABCDEFGH", sine(0, 1, time.Second)))
	for addr < 125 {
		add(mbTag(fmt.Sprintf("u%d", addr), scenarios.Uint16, "holding", addr, scenarios.Uint16, "ABCD", constant(int64(addr))))
	}
	loc := scenarios.Location{Site: "bench"}
	return &scenarios.Scenario{
		Name: "modbus-bench", Seed: 1, Tick: scenarios.Duration(100 * time.Millisecond), TimeScale: 1,
		Location: loc, OPCUA: scenarios.OPCUASettings{Security: []string{"none"}, Anonymous: ptr(true)},
		Machines: []scenarios.Machine{{Name: "bench", Location: loc, Tags: tags, Modbus: &scenarios.MachineModbus{UnitID: 1}}},
	}
}

// BenchmarkRead125 measures 125-register reads (fc3) per second with
// goburrow clients, each on its own connection.
func BenchmarkRead125(b *testing.B) {
	e := newEngine(b, benchScenario())
	e.Step(1)
	s := startServer(b, e, Config{})
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			clients := make([]*client, n)
			for i := range clients {
				clients[i] = dial(b, s.Addr(), 1, 5*time.Second)
				if _, err := clients[i].ReadHoldingRegisters(0, 125); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i, c := range clients {
				reads := b.N / n
				if i < b.N%n {
					reads++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < reads; k++ {
						r, err := c.ReadHoldingRegisters(0, 125)
						if err != nil || len(r) != 250 {
							errs <- fmt.Errorf("read: %d bytes, %v", len(r), err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

// BenchmarkHandle125 measures the server's own work for one 125-register
// read, without the network: handling and framing the response.
func BenchmarkHandle125(b *testing.B) {
	e := newEngine(b, benchScenario())
	e.Step(1)
	s, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	c := &conn{s: s, epochs: s.currentEpochs()}
	req := adu(1, 0, 1, pdu(3, 0, 125))
	b.ReportAllocs()
	for b.Loop() {
		if resp, act, _ := c.handle(req, c.out[:0]); act != respond || len(resp) != 9+250 {
			b.Fatal("bad response")
		}
	}
}

// BenchmarkServeRaw drives an in-process server with the raw-frame client
// of BenchmarkVsLibmodbus, for profiling (-cpuprofile sees the client too).
func BenchmarkServeRaw(b *testing.B) {
	e := newEngine(b, benchScenario())
	e.Step(1)
	s := startServer(b, e, Config{})
	for _, m := range []loadMode{{"conns=1", 1, 1}, {"conns=8", 8, 1}, {"conns=1,pipelined=4", 1, 4}} {
		b.Run(m.name, func(b *testing.B) {
			l := newRawLoad(b, s.Addr(), m)
			b.ResetTimer()
			if err := l.run(b.N); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
