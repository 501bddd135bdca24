package modbusserver

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/otwin/otwin/mbexception"

	"github.com/tbrandon/mbserver"
)

// exceptionName is "02 illegal data address" (package mbexception).
func exceptionName(ex mbserver.Exception) string { return mbexception.Code(ex).String() }

// refusal says why a write was refused, for the log line that goes with
// the exception response.
type refusal struct {
	ex     mbserver.Exception
	tag    string // machine/tag; "" when no tag is involved
	reason string
	value  any   // the decoded value, when there is one
	err    error // the codec's or the engine's error, if any
}

// set records the refusal and returns its exception code.
func (r *refusal) set(ex mbserver.Exception, sl *slot, reason string, value any, err error) mbserver.Exception {
	*r = refusal{ex: ex, reason: reason, value: value, err: err}
	if sl != nil {
		r.tag = sl.id
	}
	return ex
}

// rangeText is "100" or "100-103".
func rangeText(addr, n int) string {
	if n <= 1 {
		return strconv.Itoa(addr)
	}
	return strconv.Itoa(addr) + "-" + strconv.Itoa(addr+n-1)
}

// Refused writes are logged, at most refusalBurst lines per
// refusalInterval per server; the lines left out are counted in the next
// one, so a client hammering a read-only register cannot flood the log.
const (
	refusalBurst    = 20
	refusalInterval = 10 * time.Second
)

// refusalLog rate-limits the write refusal lines of one server.
type refusalLog struct {
	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

// log writes one refusal line if the rate allows it.
func (l *refusalLog) log(log *slog.Logger, peer string, unitID, fc byte, r *refusal) {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.start) >= refusalInterval {
		l.start, l.n = now, 0
	}
	if l.n >= refusalBurst {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.n++
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()

	attrs := []any{"peer", peer, "unit", unitID, "function", fc, "exception", exceptionName(r.ex), "reason", r.reason}
	if r.tag != "" {
		attrs = append(attrs, "tag", r.tag)
	}
	if r.value != nil {
		attrs = append(attrs, "value", r.value)
	}
	if r.err != nil {
		attrs = append(attrs, "err", r.err)
	}
	if dropped > 0 {
		attrs = append(attrs, "refusals_not_logged", dropped)
	}
	log.Info("write refused", attrs...)
}
