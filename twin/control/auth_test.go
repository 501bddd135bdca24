package control

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/otwin/otwin/twin"
)

// TestRequireToken: a real engine behind RequireToken answers only calls
// with the token; every call, refused or not, is reported with the
// caller's address, the user it names and the status answered.
func TestRequireToken(t *testing.T) {
	e, err := twin.New(testScenario(), twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if other, _ := NewToken(); other == tok || len(tok) != 64 {
		t.Fatalf("tokens %q and %q: want two different 64-digit tokens", tok, other)
	}
	var (
		mu    sync.Mutex
		calls []Call
	)
	srv := httptest.NewServer(RequireToken(tok, Handler(e, slog.New(slog.DiscardHandler)), func(c Call) {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	base, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		c      *Client
		reason string
	}{
		{"no token", base, "no token"},
		{"wrong token", base.WithToken(tok[:63] + "x"), "wrong token"},
	} {
		_, err := tc.c.InjectNamed(ctx, "temp_stuck")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %v, want HTTP 401", tc.name, err)
		}
		for _, f := range e.Faults() {
			if f.Active {
				t.Fatalf("%s: fault %s active after a refused call", tc.name, f.Name)
			}
		}
	}
	if _, err := base.WithToken(tok).As("olga").InjectNamed(ctx, "temp_stuck"); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	if _, err := base.WithToken(tok).Status(ctx); err != nil {
		t.Fatalf("status with the token: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 4 {
		t.Fatalf("%d calls reported, want 4: %+v", len(calls), calls)
	}
	want := []Call{
		{Method: "POST", Path: "/v1/faults", Status: 401, Refused: "no token"},
		{Method: "POST", Path: "/v1/faults", Status: 401, Refused: "wrong token"},
		{Method: "POST", Path: "/v1/faults", Status: 201, User: "olga"},
		{Method: "GET", Path: "/v1/status", Status: 200},
	}
	for i, w := range want {
		c := calls[i]
		if c.Method != w.Method || c.Path != w.Path || c.Status != w.Status || c.Refused != w.Refused || c.User != w.User || c.Remote == "" || c.Time.IsZero() {
			t.Errorf("call %d: %+v, want %+v with a remote address and a time", i, c, w)
		}
	}
}

// TestRequireTokenEmpty: an empty token refuses everything, even an empty
// bearer.
func TestRequireTokenEmpty(t *testing.T) {
	srv := httptest.NewServer(RequireToken("", http.NotFoundHandler(), nil))
	t.Cleanup(srv.Close)
	for _, auth := range []string{"", "Bearer ", "Bearer x", "Basic eDp4"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d, want 401 with WWW-Authenticate", auth, resp.StatusCode)
		}
	}
}

func TestReadReady(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ready.json")
	if err := os.WriteFile(p, []byte(`{"control":"http://127.0.0.1:1","token":"abc","scenario":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := ReadReady(p)
	if err != nil || r.Control != "http://127.0.0.1:1" || r.Token != "abc" {
		t.Fatalf("ReadReady: %+v, %v", r, err)
	}
}
