package normalize

import (
	"time"

	"github.com/otwin/otwin/connectors"
)

// ruleSet is every data-quality rule, in the order they run. A new rule is
// a file of its own (rule_<kind>.go, with its table test) plus one line
// here.
var ruleSet = []func() rule{
	newDecodeRule,
	newBadQualityRule,
	newUncertainRule,
	newOutOfRangeRule,
	newSpikeRule,
	newFrozenRule,
	newStaleRule,
	newClockSkewRule,
	newCommLossRule,
	newSequenceGapRule,
	newBehindRule,
}

// A rule is one data-quality check. It owns its alert kind, its default
// severity, the settings it reads from a tag's effective Rules, its state
// per tag or per endpoint, and the condition it raises and clears. The
// normalizer classifies every reading first (decoding, type check,
// scaling, range, status mapping: see classified), then calls the hooks a
// rule implements (the interfaces below); a rule reports through the check
// it is given. Each Normalizer has its own rule values, made by ruleSet.
type rule interface {
	kind() AlertKind
	severity() AlertSeverity
}

// tagSetup is a rule with settings or state per tag: addTag is called for
// every tag as it is configured or auto-mapped, in order (t.idx counts
// from 0), with its settings.
type tagSetup interface {
	addTag(t *tagState, s *tagSettings)
}

// sourceSetup is a rule with state per endpoint: addSource is called for
// every endpoint as it becomes known, in order (src.idx counts from 0),
// with the normalizer's default rules; before the source's tags.
type sourceSetup interface {
	addSource(src *sourceState, defaults *Rules)
}

// judge is a rule on each reading that tells something about its tag:
// every reading but those of a lost endpoint (which say nothing of the tag:
// its conditions are held as they are, and the endpoint's comm_loss speaks
// for it) and those dropped in the deadband.
type judge interface {
	judge(c *check, t *tagState, rd *classified)
}

// freshness is a rule on the liveness of a tag: fresh is called for every
// reading that says something about it, those dropped in the deadband
// included.
type freshness interface {
	fresh(c *check, t *tagState)
}

// ticker is a time-driven rule: tick runs at every Normalizer.Tick (c.now)
// over the tags and endpoints it watches.
type ticker interface {
	tick(c *check)
}

// linkWatcher is a rule on an endpoint's link: link is called when the
// normalizer learns that src was lost or is back (src.down says which).
type linkWatcher interface {
	link(c *check, src *sourceState)
}

// healthWatcher is a rule on an endpoint's Health, called at every
// Normalizer.ObserveHealth.
type healthWatcher interface {
	health(c *check, src *sourceState, h *connectors.Health)
}

// tagSettings are what a rule reads its settings from: the tag's effective
// rules (the defaults with the point's own overrides), the point's own
// Rules (nil when it has none) and its poll interval (0: event-driven).
type tagSettings struct {
	eff      Rules
	own      *Rules
	interval time.Duration
}

// subject is what conditions are raised on, a tag or an endpoint: its id
// (the alert's Target) and which rules' conditions are active on it, one
// bit per rule.
type subject struct {
	id     string
	active uint32
	// actx is the context of the subject's asset (nil: none): its
	// conditions carry it.
	actx *assetContext
}

// ruleEntry is one registered rule and the hooks it implements (nil when
// not), with the bit of its conditions in subject.active.
type ruleEntry struct {
	r        rule
	bit      uint32
	kind     AlertKind
	sev      AlertSeverity
	tagSetup tagSetup
	srcSetup sourceSetup
	judge    judge
	fresh    freshness
	tick     ticker
	link     linkWatcher
	health   healthWatcher
}

// newRules makes the rules of one Normalizer.
func newRules() []*ruleEntry {
	if len(ruleSet) > 32 {
		panic("normalize: more than 32 rules do not fit subject.active")
	}
	out := make([]*ruleEntry, len(ruleSet))
	for i, mk := range ruleSet {
		r := mk()
		e := &ruleEntry{r: r, bit: 1 << i, kind: r.kind(), sev: r.severity()}
		e.tagSetup, _ = r.(tagSetup)
		e.srcSetup, _ = r.(sourceSetup)
		e.judge, _ = r.(judge)
		e.fresh, _ = r.(freshness)
		e.tick, _ = r.(ticker)
		e.link, _ = r.(linkWatcher)
		e.health, _ = r.(healthWatcher)
		out[i] = e
	}
	return out
}

// check is a rule's view of one step of the normalizer (one reading, Tick
// or health observation): the time, the tags and endpoints, and where its
// verdicts go. raise and clear act for the rule running (cur).
type check struct {
	n   *Normalizer
	out *Output
	now time.Time
	cur *ruleEntry
}

// active says the running rule's condition is active on s.
func (c *check) active(s *subject) bool { return s.active&c.cur.bit != 0 }

// raise makes the running rule's condition active on s, saying msg; a
// condition already active is left as it is. Build msg only when
// !c.active(s), so that a condition that stays active costs nothing.
func (c *check) raise(s *subject, msg string) {
	if s.active&c.cur.bit != 0 {
		return
	}
	s.active |= c.cur.bit
	c.out.Conditions = append(c.out.Conditions, Condition{
		Kind: c.cur.kind, Target: s.id, Active: true, Severity: c.cur.sev, Message: msg, At: c.now,
		Context: s.actx.current(),
	})
}

// clear ends the running rule's condition on s, if active.
func (c *check) clear(s *subject) {
	if s.active&c.cur.bit == 0 {
		return
	}
	s.active &^= c.cur.bit
	c.out.Conditions = append(c.out.Conditions, Condition{Kind: c.cur.kind, Target: s.id, At: c.now, Context: s.actx.current()})
}

// tags are every tag, in order of t.idx.
func (c *check) tags() []*tagState { return c.n.tags }

// sources are every endpoint, in order of src.idx.
func (c *check) sources() []*sourceState { return c.n.srcList }

// started is the time of the first Tick: the age of a tag never read is
// counted from it.
func (c *check) started() time.Time { return c.n.started }

// lastUsable re-emits t's last value as Uncertain_LastUsableValue saying
// why (a stale value), unless its last sample already says it is not
// current.
func (c *check) lastUsable(t *tagState, why string) { c.n.lastUsable(c, t, why) }
