package uapeer

import (
	"context"
	"errors"
	"testing"

	"github.com/gopcua/opcua"
)

// TestNewClientQueuesPause: the workaround's premise holds for the gopcua
// in go.mod: a new client has its first pause queued (nothing has taken
// it before Connect starts the loop), and publishLoopReady finds it.
func TestNewClientQueuesPause(t *testing.T) {
	c, err := opcua.NewClient("opc.tcp://127.0.0.1:4840")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := publishLoopReady(ctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("publishLoopReady on a client never connected: %v, want it to wait for the queued pause", err)
	}
}
