package normalize

import (
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

// condState is what a test sees of one condition.
type condState int

const (
	never   condState = iota // never raised
	raised                   // active
	cleared                  // raised, then cleared
)

func (s condState) String() string { return [...]string{"never raised", "raised", "cleared"}[s] }

// condLog follows the conditions a normalizer returns: per alert id, the
// state, the message of its last raise and how often it was raised. It
// fails the test on a raise of an active condition or a clear of one not
// active: conditions are edges, each reported once.
type condLog struct {
	t      testing.TB
	state  map[string]condState
	msg    map[string]string
	raises map[string]int
	all    []Condition
}

func newCondLog(t testing.TB) *condLog {
	return &condLog{t: t, state: map[string]condState{}, msg: map[string]string{}, raises: map[string]int{}}
}

// take records the conditions of out and empties it.
func (l *condLog) take(out *Output) {
	l.t.Helper()
	for _, c := range out.Conditions {
		id := c.ID()
		switch {
		case c.Active && l.state[id] == raised:
			l.t.Fatalf("%s raised twice: %q", id, c.Message)
		case !c.Active && l.state[id] != raised:
			l.t.Fatalf("%s cleared while %s", id, l.state[id])
		case c.Active:
			if c.Severity == 0 || c.Message == "" || c.At.IsZero() {
				l.t.Fatalf("raise of %s without severity, message or time: %+v", id, c)
			}
			l.state[id], l.msg[id] = raised, c.Message
			l.raises[id]++
		default:
			l.state[id] = cleared
		}
		l.all = append(l.all, c)
	}
	out.Conditions = out.Conditions[:0]
}

// ruleStep is one step of a rule test: a reading at d (the default), a
// Tick at d, or a Health observed at d; then the condition's state.
type ruleStep struct {
	d      time.Duration
	raw    any
	status error
	src    time.Duration // source time offset from d (skew); 0 = same
	lost   bool          // a link-down reading (Reading.LinkDown)
	mark   bool          // a progress mark (Reading.Mark) at d
	tick   bool
	health *connectors.Health
	// hold and resume hold and resume the rules' clock at d.
	hold, resume bool
	want         condState
}

// ruleTest is one case of a rule's table test: steps on a normalizer of
// cfg (default: one point "v" of source "s", tag site/l/m/v, range
// 0..100), checking the condition of the rule's kind on target (default:
// the tag; the source for endpoint kinds). msg is a part of the first
// raise's message.
type ruleTest struct {
	name   string
	cfg    Config
	target string
	steps  []ruleStep
	msg    string
}

const testTag = "site/l/m/v"

// pointCfg is the default config of a rule test with the point's rules
// and interval.
func pointCfg(r *Rules, interval time.Duration) Config {
	return Config{Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v", Range: &Range{0, 100}, Rules: r, Interval: interval}}}
}

// runRuleTests runs the table of the rule of kind.
func runRuleTests(t *testing.T, kind AlertKind, tests []ruleTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Points == nil {
				cfg = pointCfg(nil, 0)
			}
			target := tt.target
			if target == "" {
				target = testTag
			}
			id := AlertID(kind, target)
			n := newN(t, cfg)
			log := newCondLog(t)
			var out Output
			first := ""
			for i, st := range tt.steps {
				switch {
				case st.hold:
					n.Hold(at(st.d))
				case st.resume:
					n.Resume(at(st.d))
				case st.tick:
					n.Tick(at(st.d), &out)
				case st.health != nil:
					n.Tick(at(st.d), &out)
					n.ObserveHealth(*st.health, &out)
				case st.mark:
					n.Apply(connectors.Reading{Source: "s", Received: at(st.d), Mark: true}, &out)
				default:
					r := rd("s", "v", st.raw, st.status, st.d)
					r.SourceTime = r.SourceTime.Add(st.src)
					if st.lost {
						r.LinkDown, r.SourceTime = true, time.Time{}
					}
					n.Apply(r, &out)
				}
				log.take(&out)
				if got := log.state[id]; got != st.want {
					t.Fatalf("step %d: %s %v, want %v (message %q)", i, id, got, st.want, log.msg[id])
				}
				if first == "" && log.state[id] == raised {
					first = log.msg[id]
				}
			}
			if tt.msg != "" && !strings.Contains(first, tt.msg) {
				t.Errorf("message %q lacks %q", first, tt.msg)
			}
		})
	}
}

// TestRuleSet: every rule has its own kind, a severity and a bit.
func TestRuleSet(t *testing.T) {
	seen := map[AlertKind]bool{}
	for _, e := range newRules() {
		if e.kind == "" || seen[e.kind] || e.sev < SeverityLow || e.sev > SeverityCritical {
			t.Errorf("rule %T: kind %q (seen %v), severity %v", e.r, e.kind, seen[e.kind], e.sev)
		}
		seen[e.kind] = true
		if e.judge == nil && e.fresh == nil && e.tick == nil && e.link == nil && e.health == nil {
			t.Errorf("rule %s has no hook: it can never raise", e.kind)
		}
	}
}
