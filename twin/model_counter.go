package twin

import (
	"math"

	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildCounter) }

// counterModel counts up by its rate while its condition holds, rolling
// over to its start. On an integer tag it counts in integers, exactly
// over the whole range of the type (fractions of a count are carried from
// tick to tick); on a float tag it counts in float64. A write sets the
// count.
type counterModel struct {
	k        *scenarios.Counter
	when, on *vm.Program
	typ      scenarios.DataType
	// was is the on event's value at the previous tick.
	was bool

	// Float counting.
	acc, roll float64 // roll 0: no rollover

	// Integer counting, in key order (tval.key): cur in [start, roll), or
	// below start after a write; top: roll is 2^64 (the type's maximum + 1
	// of a 64-bit type).
	integer          bool
	cur, start, rlim uint64
	top              bool
	frac             float64
}

func buildCounter(b *builder, k *scenarios.Counter) (model, error) {
	m := newModel[counterModel](b)
	*m = counterModel{k: k, when: b.prog("when"), on: b.prog("on"), typ: b.typ, acc: k.Start, roll: k.Rollover}
	if !b.typ.Integer() {
		return m, nil
	}
	m.integer = true
	m.start = fromFloat(b.typ, k.Start).key(b.typ)
	_, hi, _ := b.typ.IntRange()
	top := fromUint(b.typ, hi).key(b.typ) // the key of the type's maximum
	// A 64-bit type's maximum + 1 is float64(hi) itself.
	r := math.Ceil(k.Rollover)
	beyond := r > float64(hi) || b.typ.Bits() == 64 && r >= float64(hi)
	if k.Rollover != 0 && !beyond {
		m.rlim = fromFloat(b.typ, r).key(b.typ)
	} else if top == math.MaxUint64 {
		m.top = true
	} else {
		m.rlim = top + 1
	}
	if !m.top && m.rlim <= m.start {
		m.rlim = m.start + 1 // a start clamped onto its rollover
	}
	m.cur = m.start
	return m, nil
}

// counts is what the counter adds this tick: Rate×dt while When holds,
// or one when the On event became true (it was false, or this is the
// first tick).
func (m *counterModel) counts(e *Engine, i int, dt float64) float64 {
	if m.on != nil {
		now := e.evalTrue(i, m.on)
		edge := now && !m.was
		m.was = now
		if edge && (m.when == nil || e.evalTrue(i, m.when)) {
			return 1
		}
		return 0
	}
	if dt > 0 && (m.when == nil || e.evalTrue(i, m.when)) {
		return m.k.Rate * dt
	}
	return 0
}

func (m *counterModel) eval(e *Engine, i int, dt float64) out {
	inc := m.counts(e, i, dt)
	counting := inc > 0
	if !m.integer {
		c := m.k
		if counting {
			m.acc += inc
		}
		if m.roll != 0 && m.acc >= m.roll {
			m.acc = c.Start + math.Mod(m.acc-c.Start, m.roll-c.Start)
		}
		return computed(m.acc)
	}
	if counting {
		x := m.frac + inc
		w := math.Floor(x)
		m.frac = x - w
		switch {
		case w >= two64:
			m.add(math.MaxUint64)
		case w >= 1:
			m.add(uint64(w))
		}
	}
	return exactly(fromKey(m.typ, m.cur), "")
}

// add advances the count by n, rolling over to start at the rollover.
func (m *counterModel) add(n uint64) {
	if m.top && m.cur == 0 {
		m.cur += n // 2^64 values ahead: no rollover within n
		return
	}
	d := m.rlim - m.cur // distance to the rollover (rlim 0 is 2^64 when top)
	if n < d {
		m.cur += n
		return
	}
	n -= d
	span := m.rlim - m.start // 0 is 2^64 (top with start 0)
	if span != 0 {
		n %= span
	}
	m.cur = m.start + n
}

func (m *counterModel) write(v tval, _ string) {
	if !m.integer {
		m.acc = v.float(m.typ)
		return
	}
	m.cur, m.frac = v.key(m.typ), 0
	if !m.top && m.cur >= m.rlim {
		m.cur = m.start + (m.cur-m.start)%(m.rlim-m.start)
	}
}
