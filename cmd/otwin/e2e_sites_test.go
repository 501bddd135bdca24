package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqttsub"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
	"github.com/otwin/otwin/scenarios"
)

// Two sites, one dashboard: the bottling line of Springfield and the CNC
// cell of Northfield, each read by its own collector from its own twin,
// published over MQTT to one central broker, read there by one dashboard
// served over SSH at 80×24.

// site is one collector of TestE2ETwoSites.
type site struct {
	node, scenario, name string // its collector's name, its scenario, its ISA-95 site
	tw                   *e2eTwin
	col                  *collector
	tag                  string // a tag with a range, for an out_of_range fault
}

// startSites runs the two sites' twins and collectors, each publishing
// with the flags args.
func startSites(t *testing.T, args ...string) []*site {
	t.Helper()
	sites := []*site{
		{node: "edge-springfield", scenario: "bottling", name: "springfield", tag: "filler1/speed"},
		{node: "edge-northfield", scenario: "cnc", name: "northfield"},
	}
	for _, s := range sites {
		sc := shippedScenario(t, s.scenario)
		s.tw = startE2ETwin(t, sc)
		_, s.col, _ = startCollectorMQTT(t, s.tw, sc, append(args, "--mqtt-node", s.node)...)
	}
	return sites
}

// startCentral starts the dashboard's reading of the broker at url with
// the flags args, as `otwin ssh --broker URL` does, until the test ends.
func startCentral(t *testing.T, url string, args ...string) *collector {
	t.Helper()
	fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
	var o mqttOptions
	o.register(fs)
	if err := fs.Parse(append([]string{"--broker", url, "--mqtt-node", "central"}, args...)); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	col, stop, err := o.startReader(context.Background(), t.TempDir(), &out, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if !strings.Contains(out.String(), "otwin: reading the collectors that publish to broker ") {
		t.Errorf("start-up line %q", out.String())
	}
	return col
}

// TestE2ETwoSites: two collectors (the bottling and the CNC scenarios,
// two sites) publish to one central broker — over a NATS leaf node link
// from their embedded brokers, and directly to mosquitto — and one
// dashboard reads both: every tag of both sites with the site's values
// and production context, the scorecards of both sites, and over SSH at
// 80×24 both sites in the tree and on the scorecard page. An
// acknowledgement made there goes to the collector that owns the alert,
// which carries it out (its own store says so) and answers; a second one
// is refused by the owner, and the refusal is shown; a user whose role
// may not acknowledge is refused by the owner too.
func TestE2ETwoSites(t *testing.T) {
	t.Run("leaf", func(t *testing.T) {
		central, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", LeafListen: "127.0.0.1:0", Name: "central", StoreDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer central.Close()
		sites := startSites(t, "--broker", "embedded", "--broker-listen", "127.0.0.1:0", "--broker-leaf", central.LeafURL())
		twoSites(t, central.URL(), sites)
	})
	t.Run("mosquitto", func(t *testing.T) {
		m := mqtttest.StartMosquitto(t)
		sites := startSites(t, "--broker", m.URL())
		twoSites(t, m.URL(), sites)
	})
}

func twoSites(t *testing.T, url string, sites []*site) {
	central := startCentral(t, url)
	// Every tag of both sites, with its site's value and context. A
	// sample carries the context its collector knew when it was taken
	// (the work order and the product are two points, read one after
	// the other): the central dashboard has each tag's latest sample
	// with the context the collector's has, and a work order on those
	// taken since the work order's point was read.
	for _, s := range sites {
		var why string
		if !pollUntil(60*time.Second, func() bool {
			n, ordered := 0, 0
			for _, own := range s.col.Store.Snapshot() {
				got, ok := central.Store.Latest(own.ID)
				switch {
				case !ok:
					why = own.ID + " not at the central dashboard"
				case got.Status.IsBad() && !own.Status.IsBad():
					why = own.ID + " Bad at the central dashboard: " + got.Status.String() + " " + got.Err
				case !strings.Contains(got.Asset, "/"+s.name+"/"):
					why = own.ID + " of asset " + got.Asset
				case got.Context.String() != own.Context.String():
					why = fmt.Sprintf("%s with context %q at the central dashboard, %q at its collector", own.ID, got.Context, own.Context)
				case got.Source != own.Source+"@"+s.node:
					why = fmt.Sprintf("%s from source %q at the central dashboard, want %s@%s", own.ID, got.Source, own.Source, s.node)
				default:
					n++
					if got.Context.Value(ctxrole.WorkOrder) != "" {
						ordered++
					}
					continue
				}
				return false
			}
			why = "no sample with a work order yet"
			return n > 0 && ordered > 0
		}) {
			t.Fatalf("every tag of %s at the central dashboard with its status, context and source: %s (stats %+v)", s.name, why, central.Remote.Stats())
		}
	}
	// The scorecards of both sites.
	waitUntil(t, 30*time.Second, "the scorecards of both sites", func() bool {
		r := central.scorecards().Report()
		n := 0
		for _, c := range r.Sites {
			for _, s := range sites {
				if strings.HasSuffix(c.Asset, "/"+s.name) && c.Completeness >= 0 {
					n++
				}
			}
		}
		return n == len(sites)
	})

	// An alert of Springfield's, raised there.
	sp := sites[0]
	if _, err := sp.tw.Control.Inject(context.Background(), scenarios.Fault{Name: "overspeed", Kind: scenarios.OutOfRange, Target: sp.tag, Value: ptr(900.0)}); err != nil {
		t.Fatal(err)
	}
	var own, seen normalize.Alert
	waitUntil(t, 20*time.Second, "Springfield's out_of_range at the central dashboard, owned by its collector", func() bool {
		for _, a := range sp.col.Store.Alerts() {
			if a.Kind == normalize.AlertOutOfRange && strings.HasSuffix(a.Target, sp.tag) {
				own = a
			}
		}
		var ok bool
		seen, ok = central.Store.Alert(own.ID)
		return ok && seen.State == normalize.ActiveUnacked && seen.Owner != nil && seen.Owner.Name == sp.node && seen.Owner.Ref == own.ID
	})

	// The dashboard over SSH at 80×24.
	for _, tool := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	users, usersFile := writeUsers(t, dir, [][2]string{{"olga", "operator"}})
	svc, err := startSSH(context.Background(), sshOptions{
		listen: "127.0.0.1:0", usersFile: usersFile, auditFile: filepath.Join(dir, "audit.jsonl"), maxSessions: 4, idle: time.Hour,
	}, filepath.Join(dir, "data"), central, nil, "otwin · central", sshHooks{}, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.close() })
	op := sshPane(t, &sshFixture{svc: svc, users: users}, dir, "olga", 80, 24)
	op.waitScreen(20*time.Second, "olga (operator)", "[Tree]", "springfield", "northfield")
	// the caption of the selected asset's tags: its work order and product
	op.waitLines("the production context in the caption", 10*time.Second, func(l []string) bool {
		return len(l) > 1 && strings.Contains(l[1], " · WO-")
	})
	op.command("scorecard")
	lines := op.waitLines("the scorecard page with both sites", 10*time.Second, func(l []string) bool {
		s := strings.Join(l, "\n")
		return strings.Contains(s, "ROLLING WINDOW") && strings.Contains(s, "springfield") && strings.Contains(s, "northfield")
	})
	if !strings.Contains(lines[0], "otwin · central") {
		t.Errorf("header %q: want the dashboard's title", lines[0])
	}

	// The acknowledgement goes to Springfield's collector, which carries
	// it out: its own store has it, as olga of the central dashboard.
	op.command("alerts")
	onIt := func(l []string) bool {
		r := cursorRow(l)
		// the message starts with the owner: the collector
		return strings.Contains(r, "/filler1/speed ") && strings.Contains(r, sp.node+": value 9")
	}
	op.waitLines("the alert view with Springfield's out_of_range", 10*time.Second, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "/filler1/speed ")
	})
	// Other alerts of both sites may come and go meanwhile: the filter
	// keeps the view to the tag's, the cursor then on the out_of_range.
	op.keys("/")
	op.waitLines("the filter prompt", 5*time.Second, func(l []string) bool { return strings.HasPrefix(l[len(l)-1], "/") })
	op.typeText("filler1/speed")
	op.keys("Enter")
	op.waitLines("the alerts of filler1/speed", 5*time.Second, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "filter /filler1/speed")
	})
	if !onIt(op.lines()) { // the alerts of the same age come in any order: from the top
		op.keys("g")
		op.waitLines("the cursor on the first alert", 5*time.Second, func(l []string) bool {
			for i, x := range l {
				if strings.HasPrefix(x, " SEV ") {
					return i+1 < len(l) && strings.HasPrefix(l[i+1], ">")
				}
			}
			return false
		})
	}
	for i := 0; i < 8 && !onIt(op.lines()); i++ {
		// the row's text changes with its age: the cursor's line says
		// whether it moved (the filtered list fits on the screen)
		prev := cursorLine(op.lines())
		op.keys("Down")
		op.waitLines("the cursor moved", 5*time.Second, func(l []string) bool { return cursorLine(l) != prev })
	}
	op.waitLines("the cursor on Springfield's out_of_range", 5*time.Second, onIt)
	op.keys("a")
	op.waitLines("the acknowledgement prompt", 5*time.Second, func(l []string) bool {
		return strings.HasPrefix(l[len(l)-1], "ack out_of_range:")
	})
	op.typeText("checked from central")
	op.keys("Enter")
	waitUntil(t, 15*time.Second, "the acknowledgement carried out by Springfield's collector", func() bool {
		a, _ := sp.col.Store.Alert(own.ID)
		return a.State == normalize.ActiveAcked && a.AckedBy == "olga@central" && a.Comment == "checked from central"
	})
	waitUntil(t, 10*time.Second, "the acknowledgement back at the central dashboard", func() bool {
		a, _ := central.Store.Alert(seen.ID)
		return a.State == normalize.ActiveAcked && a.AckedBy == "olga@central" && a.Owner != nil && a.Owner.Current
	})
	op.waitLines("the owner's answer in the footer", 10*time.Second, func(l []string) bool {
		return strings.HasPrefix(strings.TrimSpace(l[len(l)-1]), "acknowledged out_of_range:")
	})

	// A shelve and a note go to the owner as well: the alert's state is
	// its owner's only.
	b := central.backend(&session{user: "olga", role: "operator", policy: rolePolicy("operator", false)})
	if err := b.Comment(seen.ID, "valve ordered"); err != nil {
		t.Errorf("comment: %v", err)
	}
	if err := b.Shelve(seen.ID, "valve change", time.Hour, false); err != nil {
		t.Errorf("shelve: %v", err)
	}
	waitUntil(t, 15*time.Second, "the shelve and the note at the owner and back", func() bool {
		a, _ := sp.col.Store.Alert(own.ID)
		c, _ := central.Store.Alert(seen.ID)
		noted := false
		for _, e := range sp.col.Store.AlertHistory(own.ID) {
			noted = noted || e.What == normalize.EventCommented && e.User == "olga@central" && e.Comment == "valve ordered"
		}
		return noted && a.Shelved && a.ShelvedBy == "olga@central" && c.Shelved && c.ShelvedBy == "olga@central"
	})

	// The owner refuses what it may not do, and its answer is what the
	// dashboard gets: a trainer's acknowledgement (sent as the dashboard
	// would, with the user's role).
	err = central.Remote.Act(context.Background(), mqttsub.Action{Kind: "ack", Owner: sp.node, Ref: own.ID, User: "tom", Role: "trainer"})
	if err == nil || !strings.Contains(err.Error(), "refused: trainers cannot acknowledge") {
		t.Errorf("a trainer's ack at the owner: %v, want its refusal", err)
	}
	if errors.Is(err, mqttsub.ErrNoAnswer) {
		t.Errorf("no answer from the owner: %v", err)
	}
	op.keys("q")
	op.waitScreen(10*time.Second, "ssh-exit=0")
}

// TestReadBrokerErrors: a dashboard reading a broker says at start, naming
// the broker, when it refuses the credentials; flags that only mean
// something to a collector are refused.
func TestReadBrokerErrors(t *testing.T) {
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Username: "otwin", Password: "s3cret", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	_, usersFile := writeUsers(t, dir, [][2]string{{"olga", "operator"}})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"watch", b.URL(), "--mqtt-user", "otwin", "--mqtt-password", "wrong"}, []string{b.URL(), "refused"}},
		{[]string{"watch", b.URL()}, []string{b.URL(), "refused"}},
		{[]string{"ssh", "--users", usersFile, "--listen", "127.0.0.1:0", "--broker", b.URL(), "--mqtt-user", "otwin", "--mqtt-password", "wrong"}, []string{b.URL(), "refused"}},
		{[]string{"watch", b.URL(), "--headless", "--record", "x.otwrec"}, []string{"--broker and --record are for reading sources"}},
		{[]string{"ssh", "--users", usersFile, "--listen", "127.0.0.1:0", "--broker", b.URL(), "--mqtt-qos", "0"}, []string{"--mqtt-qos", "for publishing"}},
		{[]string{"ssh", "--users", usersFile}, []string{"or --broker alone"}},
	} {
		root := newRoot()
		root.SetArgs(append(tc.args, "--data-dir", filepath.Join(dir, "data"), "--log-level", "error"))
		var out lockedBuffer
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.ExecuteContext(context.Background())
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want an error saying %q", tc.args, err, w)
			}
		}
	}
}

// TestE2ETwoSitesRelayedAlarm: an alarm of a site's OPC UA server, relayed
// by the site's collector, read by the central dashboard from the broker:
// the central acknowledgement and confirmation go to the collector, which
// takes them to the server; the server's states come back to the central
// dashboard (waiting for its confirmation, then no longer listed).
func TestE2ETwoSitesRelayedAlarm(t *testing.T) {
	tw, f := startScadaTwin(t)
	url, _, _ := startSourcesMQTT(t, f, "--broker", "embedded", "--broker-listen", "127.0.0.1:0", "--mqtt-node", "edge-springfield")
	central := startCentral(t, url)
	l := &alarmLine{tw: tw}
	l.inject(t, "co2-overpressure")
	var seen normalize.Alert
	waitUntil(t, 30*time.Second, "the server's CO2 alarm at the central dashboard", func() bool {
		for _, a := range central.Store.Alerts() {
			if a.Kind == "opcua_alarm" && strings.HasSuffix(a.Target, "/filler1/co2_pressure") && a.State == normalize.ActiveUnacked {
				seen = a
				return a.Owner != nil && a.Owner.Name == "edge-springfield" && a.Owner.Confirmable
			}
		}
		return false
	})
	b := central.backend(&session{user: "olga", role: "operator", policy: rolePolicy("operator", false)})
	if err := b.Ack(seen.ID, "venting"); err != nil {
		t.Fatalf("ack from the central dashboard: %v", err)
	}
	if st := l.twinAlarm(t, "filler1-co2-pressure"); !st.State.Acked || st.State.Comment != "olga@central: venting" {
		t.Errorf("the server's alarm after the central ack: %+v", st.State)
	}
	waitUntil(t, 20*time.Second, "the alarm acknowledged at the central dashboard, waiting for its confirmation", func() bool {
		a, _ := central.Store.Alert(seen.ID)
		return a.State == normalize.ActiveAcked && a.AwaitsConfirm()
	})
	if err := b.Confirm(seen.ID, "vented"); err != nil {
		t.Fatalf("confirm from the central dashboard: %v", err)
	}
	if st := l.twinAlarm(t, "filler1-co2-pressure"); !st.State.Confirmed {
		t.Errorf("the server's alarm after the central confirmation: %+v", st.State)
	}
	waitUntil(t, 20*time.Second, "the confirmation at the central dashboard", func() bool {
		a, _ := central.Store.Alert(seen.ID)
		return !a.AwaitsConfirm()
	})
	tr := central.backend(&session{user: "tom", role: "trainer", policy: rolePolicy("trainer", false)})
	if err := tr.Ack(seen.ID, ""); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a trainer's ack: %v, want refused", err)
	}
}
