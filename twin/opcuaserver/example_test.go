package opcuaserver_test

import (
	"context"
	"fmt"
	"log"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/opcuaserver"
)

// Serving every OPC UA endpoint of a scenario: one Server per group of
// machines sharing a port, all fed by one engine.
func Example() {
	sc, err := scenarios.Load("line.yaml")
	if err != nil {
		log.Fatal(err)
	}
	eng, err := twin.New(sc, twin.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, ep := range sc.Endpoints() {
		if ep.Protocol != scenarios.ProtocolOPCUA {
			continue
		}
		cfg := opcuaserver.DefaultConfig(ep.Machines...)
		cfg.Port = ep.Port
		cfg.DataDir = "/var/lib/otwin/opcua"
		cfg.ApplySettings(sc.OPCUA)
		s, err := opcuaserver.New(opcuaserver.FromEngine(eng), cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			log.Fatal(err)
		}
		defer s.Close()
		fmt.Println(cfg.Machines, "on", s.URL())
	}
	eng.Run(ctx)
}
