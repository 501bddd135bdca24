package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// testScenario is a small line: a filler with a temperature and a state,
// one named tag fault and one named machine fault.
func testScenario() *scenarios.Scenario {
	return &scenarios.Scenario{
		Name: "line", Seed: 1, Tick: scenarios.Duration(100 * time.Millisecond), TimeScale: 1,
		Machines: []scenarios.Machine{{
			Name:   "filler1",
			OPCUA:  &scenarios.MachineOPCUA{},
			Modbus: &scenarios.MachineModbus{UnitID: 1},
			Tags: []scenarios.Tag{
				{Name: "temp", Type: scenarios.Float64, Unit: "degC", Model: &scenarios.Model{Ramp: &scenarios.Ramp{Max: 100, Period: scenarios.Duration(10 * time.Second)}}},
				{Name: "state", Type: scenarios.String, Model: &scenarios.Model{Constant: &scenarios.Constant{Value: "Running"}}},
				{Name: "sp", Type: scenarios.Int16, Writable: true, Range: &scenarios.Range{Low: 0, High: 100}},
			},
		}},
		Faults: []scenarios.Fault{
			{Name: "temp_stuck", Kind: scenarios.Stuck, Target: "filler1/temp"},
			{Name: "plc_down", Kind: scenarios.CommLoss, Target: "filler1", Duration: scenarios.Duration(time.Second)},
		},
		Timeline: []scenarios.Event{{At: scenarios.Duration(200 * time.Millisecond), Note: "shift starts"}},
	}
}

func newServer(t *testing.T) (*twin.Engine, *httptest.Server) {
	t.Helper()
	return serveScenario(t, testScenario())
}

// serveScenario serves the control API of an engine of sc.
func serveScenario(t *testing.T, sc *scenarios.Scenario) (*twin.Engine, *httptest.Server) {
	t.Helper()
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return e, srv
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		code   int
		want   string // substring of the answer
	}{
		{"status", "GET", "/v1/status", "", 200, `"scenario": "line"`},
		{"faults", "GET", "/v1/faults", "", 200, `"name": "temp_stuck"`},
		{"inject named", "POST", "/v1/faults", `{"name":"temp_stuck"}`, 201, `"active": true`},
		{"inject unknown", "POST", "/v1/faults", `{"name":"nope"}`, 404, `unknown fault`},
		{"inject ad hoc", "POST", "/v1/faults", `{"kind":"drift","target":"filler1/temp","rate":2,"duration":"5s"}`, 201, `"name": "drift-1"`},
		{"inject ad hoc named", "POST", "/v1/faults", `{"name":"lat","kind":"latency","target":"filler1","latency":"250ms"}`, 201, `"latency": "250ms"`},
		{"inject invalid", "POST", "/v1/faults", `{"kind":"drift","target":"filler1/temp"}`, 400, `rate:`},
		{"inject bad target", "POST", "/v1/faults", `{"kind":"stuck","target":"nope/x"}`, 400, `target:`},
		{"inject bad duration", "POST", "/v1/faults", `{"kind":"stuck","target":"filler1/temp","duration":"soon"}`, 400, `invalid duration`},
		{"inject unknown field", "POST", "/v1/faults", `{"name":"temp_stuck","colour":"red"}`, 400, `field colour: unknown`},
		{"inject wrong type", "POST", "/v1/faults", `{"kind":"drift","target":"filler1/temp","rate":"fast"}`, 400, `field rate`},
		{"inject name with settings", "POST", "/v1/faults", `{"name":"x","rate":1}`, 400, `field kind`},
		{"inject empty", "POST", "/v1/faults", ``, 400, `empty`},
		{"inject bad json", "POST", "/v1/faults", `{"name":`, 400, `body`},
		{"inject too big", "POST", "/v1/faults", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, 413, `larger than`},
		{"clear not active", "DELETE", "/v1/faults/plc_down", "", 409, `not active`},
		{"clear unknown", "DELETE", "/v1/faults/nope", "", 404, `unknown fault`},
		{"clock pause", "POST", "/v1/clock", `{"action":"pause"}`, 200, `"paused": true`},
		{"clock speed", "POST", "/v1/clock", `{"action":"speed","speed":4}`, 200, `"speed": 4`},
		{"clock bad speed", "POST", "/v1/clock", `{"action":"speed","speed":-1}`, 400, `field speed`},
		{"clock bad action", "POST", "/v1/clock", `{"action":"rewind"}`, 400, `field action`},
		{"step", "POST", "/v1/step", `{"ticks":5}`, 200, `"ticks": 5`},
		{"step zero", "POST", "/v1/step", `{"ticks":0}`, 400, `field ticks`},
		{"events", "GET", "/v1/events?since=0", "", 200, `"next"`},
		{"events bad cursor", "GET", "/v1/events?since=x", "", 400, `parameter since`},
		{"tags", "GET", "/v1/tags?prefix=filler1/state", "", 200, `"value": "Running"`},
		{"tag", "GET", "/v1/tags/filler1/temp", "", 200, `"unit": "°C"`},
		{"tag by full id", "GET", "/v1/tags/filler1/state", "", 200, `"Running"`},
		{"tag unknown", "GET", "/v1/tags/filler1/nope", "", 404, `unknown tag`},
		{"write", "POST", "/v1/tags/filler1/sp", `{"value":42}`, 200, `"value": 42`},
		{"write out of range", "POST", "/v1/tags/filler1/sp", `{"value":420}`, 400, `field value`},
		{"write wrong type", "POST", "/v1/tags/filler1/sp", `{"value":"high"}`, 400, `type mismatch`},
		{"write not writable", "POST", "/v1/tags/filler1/temp", `{"value":1}`, 409, `not writable`},
		{"write no body", "POST", "/v1/tags/filler1/sp", ``, 400, `empty`},
		{"wrong method", "PUT", "/v1/status", "", 405, `not allowed`},
		{"unknown path", "GET", "/v2/x", "", 404, `no endpoint`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t)
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
				t.Fatalf("%s %s: %d %s\nwant %d and %q", tt.method, tt.path, resp.StatusCode, b, tt.code, tt.want)
			}
			if resp.StatusCode >= 400 {
				var e ErrorResponse
				if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
					t.Fatalf("error body is not {\"error\":...}: %s", b)
				}
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestClient(t *testing.T) {
	e, srv := newServer(t)
	ctx := context.Background()
	c, err := NewClient(strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Pause(ctx)
	if err != nil || !st.Paused {
		t.Fatalf("pause: %+v %v", st, err)
	}
	if st, err = c.Step(ctx, 3); err != nil || st.Ticks != 3 || st.Elapsed.D() != 300*time.Millisecond {
		t.Fatalf("step: %+v %v", st, err)
	}
	fs, err := c.InjectNamed(ctx, "plc_down")
	if err != nil || !fs.Active || fs.Until.D() != 1300*time.Millisecond {
		t.Fatalf("inject: %+v %v", fs, err)
	}
	if l := e.Link("filler1", "modbus"); !l.Down {
		t.Fatal("comm loss did not reach the engine")
	}
	ad, err := c.Inject(ctx, scenarios.Fault{Kind: scenarios.BadQuality, Target: "filler1/temp", Status: "Bad_OutOfService"})
	if err != nil || ad.Name != "bad_quality-1" {
		t.Fatalf("ad hoc: %+v %v", ad, err)
	}
	tags, err := c.Tags(ctx, "filler1/temp")
	if err != nil || len(tags) != 1 || tags[0].StatusName != "Bad_NoCommunication" || tags[0].Unit != "°C" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if err := c.Clear(ctx, "plc_down"); err != nil {
		t.Fatal(err)
	}
	err = c.Clear(ctx, "plc_down")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Fatalf("second clear: %v", err)
	}
	list, err := c.Faults(ctx)
	if err != nil || len(list) != 3 || list[1].Active || !list[2].Active {
		t.Fatalf("faults: %+v %v", list, err)
	}
	evs, next, err := c.Events(ctx, 0)
	if err != nil || next != len(evs) {
		t.Fatalf("events: %v %d %v", evs, next, err)
	}
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	if got := strings.Join(kinds, ","); got != "note,inject,inject,clear" {
		t.Fatalf("event kinds %s", got)
	}
	tv, err := c.Write(ctx, "filler1/sp", 17)
	if err != nil || tv.Value != 17.0 {
		t.Fatalf("write: %+v %v", tv, err)
	}
	if i, _ := e.Lookup("filler1/sp"); e.Value(i).V != int16(17) {
		t.Fatalf("engine value after write: %v", e.Value(i).V)
	}
	if tv, err := c.Tag(ctx, "filler1/sp"); err != nil || tv.Type != scenarios.Int16 {
		t.Fatalf("tag: %+v %v", tv, err)
	}
	if _, err := c.SetSpeed(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Resume(ctx); err != nil || st.Paused || st.Speed != 2 {
		t.Fatalf("resume: %+v %v", st, err)
	}
}

func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := NewClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), url) {
		t.Fatalf("got %v, want ErrUnreachable naming %s", err, url)
	}
	for _, bad := range []string{"", "ftp://x", "http://"} {
		if _, err := NewClient(bad, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}

func TestReadyFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
		ok                  bool
	}{
		{"ok", `{"control":"http://127.0.0.1:9000","opcua":["opc.tcp://x"]}`, "http://127.0.0.1:9000", true},
		{"missing field", `{"opcua":[]}`, "", false},
		{"not json", `control=1`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dir + "/" + tt.name + ".json"
			if err := writeFile(p, tt.content); err != nil {
				t.Fatal(err)
			}
			got, err := ReadyFile(p)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	if _, err := ReadyFile(dir + "/absent.json"); err == nil {
		t.Fatal("absent file accepted")
	}
}
