package checks

import (
	"fmt"
	"sort"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// maxSessions judges a max_sessions check: no client (a host at one
// endpoint) holds more than Max OPC UA sessions or Modbus connections at
// once.
type maxSessions struct {
	c     *scenarios.Check
	held  map[holder]int
	peak  map[holder]peak
	where map[string]holder // a session's or connection's holder
}

// holder is a host at an endpoint over a protocol.
type holder struct{ protocol, endpoint, host string }

type peak struct {
	n  int
	at time.Duration
}

func newMaxSessions(w *world, c *scenarios.Check) (judge, error) {
	return &maxSessions{c: c, held: map[holder]int{}, peak: map[holder]peak{}, where: map[string]holder{}}, nil
}

func (j *maxSessions) entry(w *world, a *act) {
	if j.c.Protocol != "" && a.Protocol != j.c.Protocol || j.c.Machine != "" && !w.serves(a.Endpoint, j.c.Machine) {
		return
	}
	if !matches(j.c.Client, a.client, w.who(a)) {
		return
	}
	h := holder{a.Protocol, a.Endpoint, a.Host()}
	var key string
	n := 0
	switch {
	case a.Protocol == scenarios.ProtocolModbus && a.Kind == clientlog.Connect:
		key, n = fmt.Sprint("conn ", a.Conn), 1
	case a.Protocol == scenarios.ProtocolModbus && a.Kind == clientlog.Disconnect:
		key, n = fmt.Sprint("conn ", a.Conn), -1
	case a.Kind == clientlog.Session:
		key, n = "session "+a.Session, 1
	case a.Kind == clientlog.SessionEnd:
		key, n = "session "+a.Session, -1
	case a.Kind == clientlog.Connect:
		if _, ok := j.peak[h]; !ok {
			j.peak[h] = peak{}
		}
		return
	default:
		return
	}
	if n > 0 {
		if _, held := j.where[key]; held {
			return // a session resumed on a new connection
		}
		j.where[key] = h
	} else {
		old, held := j.where[key]
		if !held {
			return
		}
		h = old
		delete(j.where, key)
	}
	j.held[h] += n
	if p := j.peak[h]; j.held[h] > p.n {
		j.peak[h] = peak{j.held[h], a.at}
	}
}

func (j *maxSessions) cover(*world, *client, clientlog.Item, int, time.Duration) {}

func (j *maxSessions) event(*world, *twin.Event) {}

func (j *maxSessions) verdict(w *world, end time.Duration) Result {
	if len(j.peak) == 0 {
		return result(NeverFired, "no client connected%s during the run (%s)", j.scope(), at(end))
	}
	hs := make([]holder, 0, len(j.peak))
	for h := range j.peak {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(a, b int) bool { return fmt.Sprint(hs[a]) < fmt.Sprint(hs[b]) })
	var details []string
	top := 0
	for _, h := range hs {
		p := j.peak[h]
		top = max(top, p.n)
		what := "OPC UA sessions"
		if h.protocol == scenarios.ProtocolModbus {
			what = "Modbus connections"
		}
		if p.n > j.c.Max {
			details = append(details, fmt.Sprintf("%s held %d %s at %s at %s (max %d)", h.host, p.n, what, h.endpoint, at(p.at), j.c.Max))
		}
	}
	if len(details) > 0 {
		r := result(Failed, "a client held more than %d sessions or connections at once", j.c.Max)
		r.Details = details
		return r
	}
	return result(Passed, "no client held more than %d sessions or connections at once (at most %d)%s", j.c.Max, top, j.scope())
}

// scope names the endpoints the check looks at.
func (j *maxSessions) scope() string {
	s := ""
	if j.c.Machine != "" {
		s += " to " + j.c.Machine
	}
	if j.c.Protocol != "" {
		s += " over " + j.c.Protocol
	}
	return s
}
