package pipeline_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
)

// Example wires a sources file into a running pipeline: the connectors
// (built by the caller from f.Sources) read, the normalizer maps, the store
// serves the TUI, and every event goes to stdout as JSON lines.
func Example() {
	f, err := sources.Load("sources.yaml")
	if err != nil {
		slog.Error("sources", "err", err) // every problem, file:line:col
		return
	}
	n, err := normalize.New(f.NormalizeConfig())
	if err != nil {
		slog.Error("normalizer", "err", err)
		return
	}
	st := store.New(store.Config{}) // the alerts: the rules raise, users act
	defer st.Close()
	var conns []connectors.Connector // one per f.Sources entry
	out := pipeline.NewJSONLines(os.Stdout)
	p := &pipeline.Pipeline{
		Connectors: conns, Normalizer: n, Store: st,
		Logger: slog.Default(), OnEvent: out.Handle,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	sub := st.Subscribe() // e.g. a TUI session
	defer sub.Close()
	_ = sub.C()
}
