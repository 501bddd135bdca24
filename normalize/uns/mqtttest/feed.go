package mqtttest

import (
	"context"

	"github.com/otwin/otwin/connectors"
)

// Feed is a connector named "plc" that a test feeds reading by reading
// (send on Ch), for a pipeline whose events are published.
type Feed struct{ Ch chan connectors.Reading }

// NewFeed returns a Feed with an unbuffered channel.
func NewFeed() *Feed { return &Feed{Ch: make(chan connectors.Reading)} }

// Name is "plc".
func (f *Feed) Name() string { return "plc" }

// Run passes what the test sends on until ctx is done.
func (f *Feed) Run(ctx context.Context, out chan<- connectors.Reading) error {
	for {
		select {
		case r := <-f.Ch:
			select {
			case out <- r:
			case <-ctx.Done():
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Health is a connected Modbus endpoint's.
func (f *Feed) Health() connectors.Health {
	return connectors.Health{Source: "plc", Protocol: "modbus", Endpoint: "10.0.0.7:502", State: connectors.Connected}
}
