package isolate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
)

// BenchmarkPipe: readings per second a consumer receives from one
// connector sending as fast as it can (1000 addresses, float values, a
// received time each): run in this process, and in a child process
// through the pipe. The ratio is the pipe's cost; both run in the same
// benchmark run, on the same machine.
func BenchmarkPipe(b *testing.B) {
	points := make([]string, 1000)
	for i := range points {
		points[i] = fmt.Sprintf("nsu=urn:acme:plant1;s=line1/machine%03d/value", i)
	}
	for _, mode := range []string{"in-process", "child"} {
		b.Run(mode, func(b *testing.B) {
			spec := scriptSpec("flood", scriptConfig{Count: b.N + 1}, points...)
			env := connectors.Env{DataDir: b.TempDir(), Logger: quiet}
			var (
				c   connectors.Connector
				err error
			)
			if mode == "child" {
				c, err = isolate.New(spec, env, isolate.Options{})
			} else {
				c, err = spec.New(env)
			}
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			out := make(chan connectors.Reading, 1024)
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, out) }()
			<-out // the connector is up
			b.ResetTimer()
			for range b.N {
				<-out
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
