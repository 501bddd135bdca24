package control

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otwin/otwin/twin"
)

// FuzzHandler posts arbitrary bodies to the endpoints that take one: the
// answer is always JSON with an expected status code, never a panic.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{
		`{"name":"temp_stuck"}`, `{"kind":"drift","target":"filler1/temp","rate":1,"duration":"1s"}`,
		`{"kind":"bad_quality","target":"filler1/temp","status":"0x80000000"}`, `{"action":"speed","speed":1e308}`,
		`{"action":"pause"}`, `{"ticks":3}`, `[]`, `null`, `{"name":1}`, `{"start":"1s","name":"plc_down"}`,
	} {
		f.Add("/v1/faults", s)
		f.Add("/v1/clock", s)
	}
	e, err := twin.New(testScenario(), twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	h := Handler(e, slog.New(slog.DiscardHandler))
	ok := map[int]bool{200: true, 201: true, 204: true, 400: true, 404: true, 409: true, 413: true}
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/v1/faults" && path != "/v1/clock" {
			path = "/v1/faults"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if !ok[rec.Code] {
			t.Fatalf("POST %s %q: status %d", path, body, rec.Code)
		}
		if rec.Code != 204 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %s %q: not JSON: %s", path, body, rec.Body)
		}
		// The state stays servable.
		for _, p := range []string{"/v1/faults", "/v1/status"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %s after POST %s %q: %d %s", p, path, body, rec.Code, rec.Body)
			}
		}
		e.Resume()
		_ = e.SetSpeed(1)
		for _, fs := range e.Faults() {
			if fs.Active {
				_ = e.Clear(fs.Name)
			}
		}
	})
}
