package control

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// exactServer serves a twin with writable int64 and uint64 tags.
func exactServer(t testing.TB) (*twin.Engine, http.Handler) {
	t.Helper()
	sc, err := scenarios.Parse("exact.yaml", []byte(`name: exact
machines:
  - name: m1
    tags:
      - {name: u, type: uint64, writable: true, model: {constant: {value: 12345678901234567891}}}
      - {name: i, type: int64, writable: true, model: {constant: {value: -9223372036854775807}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return e, Handler(e, slog.New(slog.DiscardHandler))
}

// TestExactValuesOverJSON: 64-bit integers are answered with every digit,
// and writes are read by their JSON text, by the handler and the Client.
func TestExactValuesOverJSON(t *testing.T) {
	e, h := exactServer(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(id string) string {
		resp, err := http.Get(srv.URL + "/v1/tags/m1/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if b := get("u"); !strings.Contains(b, `"value": 12345678901234567891,`) {
		t.Fatalf("GET u: %s", b)
	}
	if b := get("i"); !strings.Contains(b, `"value": -9223372036854775807,`) {
		t.Fatalf("GET i: %s", b)
	}
	post := func(id, body string) (int, string) {
		resp, err := http.Post(srv.URL+"/v1/tags/m1/"+id, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		id, body string
		code     int
		want     string
	}{
		{"u", `{"value":18446744073709551615}`, 200, `"value": 18446744073709551615,`},
		{"u", `{"value":12345678901234567891}`, 200, `"value": 12345678901234567891,`},
		{"i", `{"value":-9223372036854775808}`, 200, `"value": -9223372036854775808,`},
		{"i", `{"value":-9223372036854775807}`, 200, `"value": -9223372036854775807,`},
		{"u", `{"value":18446744073709551616}`, 400, `out of the uint64 range`},
		{"u", `{"value":1.5}`, 400, `not an integer`},
		{"u", `{"value":-1}`, 400, `out of the uint64 range`},
		{"i", `{"value":9223372036854775808}`, 400, `out of the int64 range`},
		{"i", `{"value":"5"}`, 400, `type mismatch`},
		{"i", `{"value":1e999}`, 400, `out of the int64 range`},
	} {
		if code, b := post(tt.id, tt.body); code != tt.code || !strings.Contains(b, tt.want) {
			t.Errorf("POST %s %s: %d %s, want %d and %q", tt.id, tt.body, code, b, tt.code, tt.want)
		}
	}
	if i, _ := e.Lookup("m1/u"); e.Value(i).V != uint64(12345678901234567891) {
		t.Fatalf("engine holds %v", e.Value(i).V)
	}

	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		id   string
		v    any
		want any
	}{
		{"u", uint64(12345678901234567891), uint64(12345678901234567891)},
		{"i", int64(-9223372036854775807), int64(-9223372036854775807)},
		{"i", int64(math.MinInt64), int64(math.MinInt64)},
		{"i", 17, 17.0}, // float64 holds it: a float64, as for every number
	} {
		tv, err := c.Write(ctx, "m1/"+tt.id, tt.v)
		if err != nil || tv.Value != tt.want {
			t.Fatalf("client write %v: %v (%T) %v, want %v (%T)", tt.v, tv.Value, tv.Value, err, tt.want, tt.want)
		}
		if tv, err := c.Tag(ctx, "m1/"+tt.id); err != nil || tv.Value != tt.want {
			t.Fatalf("client read after writing %v: %v %v", tt.v, tv.Value, err)
		}
	}
}

// FuzzWriteBody posts arbitrary write bodies to 64-bit tags: the answer
// is always JSON with an expected status, and a value answered 200 is the
// written number, digit for digit.
func FuzzWriteBody(f *testing.F) {
	for _, s := range []string{`{"value":12345678901234567891}`, `{"value":-9223372036854775807}`,
		`{"value":18446744073709551616}`, `{"value":1e19}`, `{"value":-0}`, `{"value":1.0}`, `{"value":null}`,
		`{"value":[1]}`, `{"value":{"a":1}}`, `{"value":true}`, `{"value":"1"}`, `{"value":1e-999}`, `{}`, `[`} {
		f.Add("u", s)
		f.Add("i", s)
	}
	_, h := exactServer(f)
	f.Fuzz(func(t *testing.T, id, body string) {
		if id != "u" {
			id = "i"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/tags/m1/"+id, strings.NewReader(body)))
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("POST %q: status %d", body, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %q: not JSON: %s", body, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		var req struct{ Value json.Number }
		var resp struct{ Value json.Number }
		if json.Unmarshal([]byte(body), &req) != nil {
			t.Fatalf("POST %q accepted an unreadable body", body)
		}
		dec := json.NewDecoder(rec.Body)
		dec.UseNumber()
		if err := dec.Decode(&resp); err != nil {
			t.Fatal(err)
		}
		want, err := scenarios.Exact(map[string]scenarios.DataType{"u": scenarios.Uint64, "i": scenarios.Int64}[id], req.Value)
		if err != nil {
			t.Fatalf("POST %q accepted a value Exact refuses: %v", body, err)
		}
		if string(resp.Value) != strings.TrimPrefix(jsonText(want), "+") {
			t.Fatalf("POST %q answered %s, want %v", body, resp.Value, want)
		}
	})
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
