package uns

import (
	"errors"
	"fmt"
	"strings"
)

// The reserved topic levels: tags and assets should not be named so.
const (
	// AlertLevel follows a tag's topic in the topics of its alerts.
	AlertLevel = "_alert"
	// CollectorLevel follows the prefix in the topics a collector
	// publishes about itself and its endpoints.
	CollectorLevel = "_otwin"
)

// Topics builds the topic tree of one collector under a prefix:
//
//	<prefix>/<asset path>/<tag>                       a sample
//	<prefix>/<asset path>/<tag>/_alert/<kind>         an alert on a tag
//	<prefix>/_otwin/<node>/status                     the collector: online, offline
//	<prefix>/_otwin/<node>/health/<endpoint>          an endpoint's health
//	<prefix>/_otwin/<node>/alert/<kind>/<target>      an alert on an endpoint or the collector
//	<prefix>/_otwin/<node>/scorecard                  the collector's data-quality scorecards
//	<prefix>/_otwin/<node>/cmd                        commands to the collector (see Command)
//	<prefix>/_otwin/<node>/hello                      a dashboard that starts reading (see Hello)
//	<prefix>/_otwin/<node>/reply/<request id>         answers to a dashboard's commands (see Reply)
//
// The asset path gives the ISA-95 levels in order (enterprise, site, area,
// line, cell, machine): only the levels a plant uses are present, none is
// padded, so a tag of asset "acme/plant1/press3" has the topic
// "acme/plant1/press3/<tag>". The prefix, when set, comes first (e.g. the
// enterprise when the asset paths start at the site). A Topics is
// immutable and safe for concurrent use.
type Topics struct {
	prefix string // "" or "a/b/" with its trailing separator
	node   string // sanitized
}

// NewTopics returns the topics of collector node under prefix. The prefix
// may be empty or have several levels ("acme" or "acme/uns"); it must not
// hold wildcards (+ #), empty levels, a NUL, or start with $. The node is
// one level: characters that cannot be in a topic level are replaced by _.
func NewTopics(prefix, node string) (Topics, error) {
	if err := checkPrefix(prefix); err != nil {
		return Topics{}, err
	}
	if node == "" {
		return Topics{}, errors.New("collector name (node) is empty")
	}
	t := Topics{node: Level(node)}
	if prefix != "" {
		t.prefix = prefix + "/"
	}
	return t, nil
}

func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "$") {
		return fmt.Errorf("topic prefix %q: must not start with $ (reserved for brokers)", p)
	}
	if strings.ContainsAny(p, "+#\x00") {
		return fmt.Errorf("topic prefix %q: must not hold + # or NUL", p)
	}
	for _, l := range strings.Split(p, "/") {
		if l == "" {
			return fmt.Errorf("topic prefix %q: empty level (leading, trailing or double /)", p)
		}
	}
	return nil
}

// Prefix returns the prefix with its trailing "/" ("" without one).
func (t Topics) Prefix() string { return t.prefix }

// Node returns the collector's level in the topics.
func (t Topics) Node() string { return t.node }

// Sample returns the topic of the samples of tag id ("<asset path>/<tag>").
func (t Topics) Sample(id string) string { return t.prefix + Path(id) }

// TagAlert returns the topic of the alert of kind on tag id.
func (t Topics) TagAlert(id, kind string) string {
	return t.prefix + Path(id) + "/" + AlertLevel + "/" + Level(kind)
}

// OtherAlert returns the topic of the alert of kind on target, an
// endpoint or the collector itself.
func (t Topics) OtherAlert(target, kind string) string {
	return t.collector() + "alert/" + Level(kind) + "/" + Level(target)
}

// Health returns the topic of the health of endpoint source.
func (t Topics) Health(source string) string { return t.collector() + "health/" + Level(source) }

// Status returns the topic of the collector's status.
func (t Topics) Status() string { return t.collector() + "status" }

// Scorecard returns the topic of the collector's data-quality
// scorecards (ScorecardPayload).
func (t Topics) Scorecard() string { return t.collector() + "scorecard" }

// Command returns the topic the collector takes commands on: users'
// actions on its alerts, sent by dashboards that read it (see Command).
func (t Topics) Command() string { return t.collector() + "cmd" }

// Reply returns the topic on which this node, a dashboard, expects the
// answer to its command requestID (see Reply).
func (t Topics) Reply(requestID string) string { return t.collector() + "reply/" + Level(requestID) }

// Hello returns the topic on which this node, a dashboard that starts
// reading, asks the collectors under its prefix to publish their whole
// state again. Retained messages stay in the broker they were published
// to: a dashboard reading a central broker that sites link to as leaf
// nodes (or over a bridge that does not carry retained messages) gets
// the collectors' picture from their answer. Its payload is
// HelloPayload's; a collector acts on any.
func (t Topics) Hello() string { return t.collector() + "hello" }

// HelloFilters returns the filters of the Hello topics a collector under
// this prefix answers: those of its prefix and of every shorter one
// (a dashboard reads a collector when the collector's prefix starts with
// the dashboard's).
func (t Topics) HelloFilters() []string {
	out := []string{CollectorLevel + "/+/hello"}
	p := strings.TrimSuffix(t.prefix, "/")
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i]+"/"+CollectorLevel+"/+/hello")
		}
	}
	if p != "" {
		out = append(out, p+"/"+CollectorLevel+"/+/hello")
	}
	return out
}

// Replies returns the filter of every Reply topic of this node.
func (t Topics) Replies() string { return t.collector() + "reply/+" }

func (t Topics) collector() string { return t.prefix + CollectorLevel + "/" + t.node + "/" }

// Level returns s as one topic level: "/", "+", "#" and NUL become "_",
// and an empty s becomes "_".
func Level(s string) string {
	if s == "" {
		return "_"
	}
	if !strings.ContainsAny(s, "/+#\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, s)
}

// Path returns the "/"-separated path p as topic levels: each level as
// Level makes it (so empty levels become "_"), and a leading $ (reserved
// for brokers) becomes "_".
func Path(p string) string {
	if p != "" && !strings.ContainsAny(p, "+#\x00") && !strings.Contains(p, "//") &&
		p[0] != '/' && p[0] != '$' && p[len(p)-1] != '/' {
		return p
	}
	ls := strings.Split(p, "/")
	for i, l := range ls {
		ls[i] = Level(l)
	}
	if strings.HasPrefix(ls[0], "$") {
		ls[0] = "_" + ls[0][1:]
	}
	return strings.Join(ls, "/")
}
