package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// TestClientsEndpoints: GET /v1/clients and /v1/clients/activity serve
// the client activity log through the handler and the client; the other
// methods, a bad cursor and a handler without a log are refused.
func TestClientsEndpoints(t *testing.T) {
	e, err := twin.New(testScenario(), twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	log := clientlog.New(clientlog.Options{})
	log.Observe(clientlog.Entry{Kind: clientlog.Connect, Protocol: "modbus", Endpoint: "127.0.0.1:5020", Conn: 1, Peer: "127.0.0.1:40000"})
	log.Observe(clientlog.Entry{Kind: clientlog.Write, Protocol: "modbus", Endpoint: "127.0.0.1:5020", Conn: 1, Peer: "127.0.0.1:40000", Tag: "filler1/sp", Value: 150, Exception: 3, Reason: "out of range"})
	srv := httptest.NewServer(Handler(logEngine{e, log}, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl, err := c.Clients(ctx)
	if err != nil || len(cl) != 1 || cl[0].Host != "127.0.0.1" || cl[0].Writes != 1 || cl[0].Refused != 1 {
		t.Fatalf("Clients = %+v, %v", cl, err)
	}
	entries, next, err := c.ClientActivity(ctx, 0)
	if err != nil || len(entries) != 2 || next != 2 || entries[1].Kind != clientlog.Write || entries[1].Exception != 3 || entries[1].Tag != "filler1/sp" {
		t.Fatalf("ClientActivity = %+v, %d, %v", entries, next, err)
	}
	if entries, next, err := c.ClientActivity(ctx, next); err != nil || len(entries) != 0 || next != 2 {
		t.Fatalf("ClientActivity(2) = %+v, %d, %v", entries, next, err)
	}
	for _, tt := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/v1/clients/activity?since=-1", 400, "want a cursor"},
		{"POST", "/v1/clients", 405, "method POST not allowed"},
		{"DELETE", "/v1/clients/activity", 405, "not allowed"},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.method, tt.path, resp.StatusCode, b, tt.code, tt.want)
		}
	}
	// A handler of an engine without a log has no such endpoint.
	plain := httptest.NewServer(Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(plain.Close)
	pc, _ := NewClient(plain.URL, nil)
	var api *APIError
	if _, err := pc.Clients(ctx); !errors.As(err, &api) || api.StatusCode != http.StatusNotFound {
		t.Errorf("Clients without a log: %v, want 404", err)
	}
}

// logEngine is an engine with a client activity log (ClientEngine).
type logEngine struct {
	*twin.Engine
	log ClientActivity
}

func (e logEngine) ClientLog() ClientActivity { return e.log }
