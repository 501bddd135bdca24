package tui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

func prodContext(wo, product, batch string) *normalize.Context {
	var v [ctxrole.N]string
	v[ctxrole.WorkOrder.Index()], v[ctxrole.Product.Index()], v[ctxrole.Batch.Index()] = wo, product, batch
	return normalize.NewContext(v, tuifake.Epoch)
}

// withContexts gives the body shop's line1 work order WO-4711 and the
// paint shop WO-9 (each asset a value of its own, as the normalizer
// makes them), and an alert of the paint shop its context.
func withContexts(p *tuifake.Plant) {
	var u tui.Update
	ctxs := map[string]*normalize.Context{}
	for _, s := range p.Snapshot() {
		var c *normalize.Context
		switch {
		case strings.HasPrefix(s.Asset, "acme/berlin/body/line1/"):
			c = ctxs[s.Asset]
			if c == nil {
				c = prodContext("WO-4711", "door-left", "B-17")
				ctxs[s.Asset] = c
			}
		case strings.HasPrefix(s.Asset, "acme/berlin/paint"):
			c = prodContext("WO-9", "primer", "")
		default:
			continue
		}
		s.Context = c
		u.Samples = append(u.Samples, s)
	}
	for _, a := range p.Alerts() {
		a.Context = prodContext("WO-777", "", "")
		u.Alerts = append(u.Alerts, a)
		break
	}
	p.Publish(u)
}

// The line's context shows above its tags, in the tag and alert detail,
// and the "/" filter finds tags and alerts by it.
func TestContextShownAndFiltered(t *testing.T) {
	s := newSession(t, tui.RoleOperator, 80, 24)
	withContexts(s.plant)
	// the operator opens on line1: its machines share the context
	s.waitOutput("WO-4711 door-left B-17")
	s.keys("l", "l", "j", "enter") // the line's tags, the second one's detail
	s.waitOutput("work order WO-4711 · product door-left · batch B-17")
	v := s.final()
	if !strings.Contains(v, "context") {
		t.Errorf("tag detail without its context:\n%s", v)
	}

	// The engineer sees every tag; filtering by a work order keeps the
	// tags made under it.
	e := newSession(t, tui.RoleEngineer, 80, 24)
	withContexts(e.plant)
	e.waitOutput("TAGS all")
	e.keys("/", "wo-9")
	e.waitOutput("· 3 · sort name↑ · /wo-9")
	v = e.final()
	if strings.Contains(v, "press1") || !strings.Contains(v, "oven1/") {
		t.Errorf("filter by work order:\n%s", v)
	}

	// An alert's context: in its detail, and the alert filter finds it.
	a := newSession(t, tui.RoleSupervisor, 80, 24)
	withContexts(a.plant)
	a.keys("/", "wo-777")
	a.waitOutput("filter /wo-777: 1 of 5")
	a.keys("enter", "enter")
	a.waitOutput("work order WO-777")
	a.final()
}

// TestScorecardPage shows a board's figures by site, line and machine,
// then the periods; enter shows a machine in the tree.
func TestScorecardPage(t *testing.T) {
	b := score.New(score.Config{
		Settings: score.Settings{LineLevels: 4},
		Sources:  []score.Source{{Name: "press1-opcua", Poll: time.Second}},
		Points: []score.Point{
			{ID: "acme/berlin/body/line1/press1/pressure", Asset: "acme/berlin/body/line1/press1", Source: "press1-opcua"},
			{ID: "acme/berlin/body/line1/press1/temperature", Asset: "acme/berlin/body/line1/press1", Source: "press1-opcua"},
		},
	})
	t0 := tuifake.Epoch.Add(-10 * time.Second)
	up := []connectors.Health{{Source: "press1-opcua", State: connectors.Connected}}
	b.Tick(t0, up)
	var out normalize.Output
	for k := 1; k <= 10; k++ {
		out.Samples = append(out.Samples, normalize.Sample{ID: "acme/berlin/body/line1/press1/pressure", Asset: "acme/berlin/body/line1/press1",
			Source: "press1-opcua", Status: connectors.Good, Received: t0.Add(time.Duration(k) * time.Second), Context: prodContext("WO-4711", "", "B-17")})
	}
	out.Conditions = append(out.Conditions, normalize.Condition{Kind: normalize.AlertStale, Target: "acme/berlin/body/line1/press1/temperature", Active: true})
	b.Observe(&out)
	b.Tick(tuifake.Epoch, up)

	p := tuifake.NewLine()
	p.User, p.Role = "alice", tui.RoleOperator
	m := tui.New(p, tui.Options{User: "alice", Role: tui.RoleOperator, Now: fixedNow, NoColor: true, Scorecards: b})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 24))
	s := &session{t: t, plant: p, m: m, tm: tm}
	s.keys(":scorecard", "enter")
	// 10 of 20 expected samples, all good, the link up throughout, one
	// stale alert: for the site, the line and the machine alike; the
	// work order's and the batch's periods are open.
	s.waitOutput("ROLLING WINDOW · 15m00s", "acme/berlin", "body/line1", "press1", "50.0%", "100.0%", "1 stale", "batch B-17", "order WO-4711")
	s.keys("down", "down", "enter") // from the site to its line, to the machine
	s.waitOutput("[Tree]", "TAGS acme/berlin/body/line1/press1")
	v := s.final()
	if !strings.Contains(v, "TAGS acme/berlin/body/line1/press1") {
		t.Errorf("enter on the machine's card did not show it in the tree:\n%s", v)
	}

	// A session without scorecards has no such page.
	n := newSession(t, tui.RoleOperator, 80, 24)
	n.keys(":scorecard", "enter")
	n.waitOutput("no scorecards in this session")
	n.final()
}
