package uns

import (
	"errors"
	"fmt"
	"strings"
)

// TopicKind says what a topic of the unified namespace carries.
type TopicKind int

// The kinds of topics (see Topics).
const (
	// TopicSample: "<asset path>/<tag>", a tag's samples.
	TopicSample TopicKind = iota + 1
	// TopicTagAlert: "<asset path>/<tag>/_alert/<kind>", an alert on a
	// tag.
	TopicTagAlert
	// TopicStatus: "_otwin/<node>/status", a collector's status.
	TopicStatus
	// TopicHealth: "_otwin/<node>/health/<endpoint>".
	TopicHealth
	// TopicOtherAlert: "_otwin/<node>/alert/<kind>/<target>", an alert
	// on an endpoint or on the collector.
	TopicOtherAlert
	// TopicCommand: "_otwin/<node>/cmd", commands to a collector.
	TopicCommand
	// TopicReply: "_otwin/<node>/reply/<request id>", answers to a
	// dashboard's commands.
	TopicReply
	// TopicSparkplug: "spBv1.0/…", the Sparkplug B namespace (not JSON).
	TopicSparkplug
	// TopicScorecard: "_otwin/<node>/scorecard", a collector's
	// data-quality scorecards.
	TopicScorecard
	// TopicHello: "_otwin/<node>/hello", a dashboard that starts
	// reading.
	TopicHello
)

// Topic is a topic of the namespace taken apart (ParseTopic).
type Topic struct {
	// Kind of topic.
	Kind TopicKind
	// Path is the tag's path, "<asset path>/<tag>", for TopicSample and
	// TopicTagAlert.
	Path string
	// Prefix is what comes before "_otwin" in a collector's topics, with
	// its trailing "/" ("" without one): the collector's prefix, where its
	// command topic is.
	Prefix string
	// Node is the collector (or dashboard) the topic is about.
	Node string
	// Kind of the alert, for TopicTagAlert and TopicOtherAlert.
	AlertKind string
	// Target is the endpoint (TopicHealth), the alert's target
	// (TopicOtherAlert) or the request id (TopicReply).
	Target string
}

// ErrOutside says a topic is not one of the namespace's (see Topics).
var ErrOutside = errors.New("topic outside the unified namespace")

// ParseTopic takes topic apart, after prefix (a reader's subscription
// prefix, "" or ending in "/"; the topic must start with it). A topic that
// is none of those Topics builds — an empty level, a reserved level
// ("_otwin", "_alert") out of place, fewer than two levels for a tag, a
// wildcard — is an error wrapping ErrOutside that says why.
func ParseTopic(topic, prefix string) (Topic, error) {
	rest, ok := strings.CutPrefix(topic, prefix)
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q is not under %q", ErrOutside, topic, prefix)
	}
	if rest == SparkplugNamespace || strings.HasPrefix(rest, SparkplugNamespace+"/") {
		return Topic{Kind: TopicSparkplug}, nil
	}
	if strings.ContainsAny(rest, "+#\x00") {
		return Topic{}, fmt.Errorf("%w: %q holds a wildcard or NUL", ErrOutside, topic)
	}
	ls := strings.Split(rest, "/")
	for _, l := range ls {
		if l == "" {
			return Topic{}, fmt.Errorf("%w: %q has an empty level", ErrOutside, topic)
		}
	}
	for i, l := range ls {
		if l == CollectorLevel {
			cp := prefix
			if i > 0 {
				cp += strings.Join(ls[:i], "/") + "/"
			}
			return parseCollector(topic, cp, ls[i+1:])
		}
	}
	n := len(ls)
	for i, l := range ls {
		if l == AlertLevel && i != n-2 {
			return Topic{}, fmt.Errorf("%w: %q: %s must be the level before the alert's kind", ErrOutside, topic, AlertLevel)
		}
	}
	if n >= 4 && ls[n-2] == AlertLevel {
		return Topic{Kind: TopicTagAlert, Path: strings.Join(ls[:n-2], "/"), AlertKind: ls[n-1]}, nil
	}
	if n < 2 || ls[n-2] == AlertLevel {
		return Topic{}, fmt.Errorf("%w: %q: a tag's topic is its asset path and its name (two levels at least)", ErrOutside, topic)
	}
	return Topic{Kind: TopicSample, Path: rest}, nil
}

// parseCollector parses what follows "_otwin" in topic: "<node>/…";
// prefix is what precedes it.
func parseCollector(topic, prefix string, ls []string) (Topic, error) {
	bad := func(why string) (Topic, error) {
		return Topic{}, fmt.Errorf("%w: %q: %s", ErrOutside, topic, why)
	}
	if len(ls) < 2 {
		return bad("want _otwin/<node>/status, scorecard, hello, health/<endpoint>, alert/<kind>/<target>, cmd or reply/<id>")
	}
	t := Topic{Prefix: prefix, Node: ls[0]}
	switch what, n := ls[1], len(ls); {
	case what == "status" && n == 2:
		t.Kind = TopicStatus
	case what == "cmd" && n == 2:
		t.Kind = TopicCommand
	case what == "scorecard" && n == 2:
		t.Kind = TopicScorecard
	case what == "hello" && n == 2:
		t.Kind = TopicHello
	case what == "health" && n == 3:
		t.Kind, t.Target = TopicHealth, ls[2]
	case what == "reply" && n == 3:
		t.Kind, t.Target = TopicReply, ls[2]
	case what == "alert" && n == 4:
		t.Kind, t.AlertKind, t.Target = TopicOtherAlert, ls[2], ls[3]
	default:
		return bad("want _otwin/<node>/status, scorecard, hello, health/<endpoint>, alert/<kind>/<target>, cmd or reply/<id>")
	}
	return t, nil
}
