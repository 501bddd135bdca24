package tui

import (
	"fmt"
	"strconv"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// The instructor console: the scenario clock with pause and speed, the
// exercises to start, the live scoreboard, the debrief. Only sessions
// given a Trainer have it; it re-reads the Trainer every ConsoleRefresh
// while shown, and runs its actions one after another in key order.

const pageConsole = "console"

var consoleDef = pageDef{
	id: pageConsole, title: "Console", tab: true,
	cmds: []string{"console", "con"}, cmdHelp: "instructor console (trainers in a workshop)",
	hotkey:      bind("", "c", "instructor console (trainers in a workshop)", "c"),
	keys:        []*keyGroup{&consoleKeys},
	available:   func(a *app) bool { return a.opts.Trainer != nil },
	unavailable: "no instructor console: it is for trainers in a workshop (otwin workshop)",
	new:         func(a *app) page { return &consolePage{a: a} },
}

const (
	actPause   action = "pause"
	actFaster  action = "faster"
	actSlower  action = "slower"
	actStart   action = "start"
	actDebrief action = "debrief"
	actReload  action = "reload"
)

var consoleKeys = keyGroup{title: "Instructor console", bindings: []binding{
	bind(actPause, "space", "pause / resume the scenario clock", " ").footer("space", "pause/run"),
	bind(actFaster, "+ =", "double the speed (up to 64×)", "+", "=").footer("+/-", "speed"),
	bind(actSlower, "-", "halve the speed (down to 0.25×)", "-"),
	bind(actStart, "enter", "start the selected exercise", "enter").footer("enter", "start"),
	bind(actDebrief, "d", "write the debrief (the status line shows where)", "d").footer("d", "debrief"),
	showKey(pageFaults, "f", "fault panel, for ad-hoc faults", "f").footer("f", "faults"),
	bind(actReload, "r", "refresh", "r"),
}}

// Console messages.
type (
	consoleMsg struct {
		seq      uint64 // clock actions issued when the load started
		idle     bool   // no console action was in flight then
		clock    Clock
		clockErr error
		ex       []Exercise
		scores   []Score
	}
	consoleTickMsg struct{ gen uint64 }
	// consoleDoneMsg is a console action's result; handling it lets the
	// next action run.
	consoleDoneMsg struct {
		act  actionMsg
		done chan struct{}
	}
)

// consolePage holds what the console last read.
type consolePage struct {
	a        *app
	clock    Clock
	clockErr error
	loaded   bool
	ex       []Exercise
	scores   []Score
	exl      widget.Pos
	gen      uint64 // refresh ticks of older openings are dropped
	// seq counts clock actions; a load started before the latest action
	// carries an old clock and is not shown.
	seq uint64
	// last is closed once the latest action's result has been handled:
	// actions run, and their results arrive, one after another in the
	// order of the keys (pause, then resume).
	last chan struct{}
	// pending counts actions whose result has not been handled yet; a
	// load started meanwhile may read a clock half way through them.
	pending int
}

func (p *consolePage) keys() []*keyGroup { return consoleDef.keys }

func (p *consolePage) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg, resumeMsg:
		p.gen++
		return tea.Batch(p.load(), p.tick())
	case consoleMsg:
		p.onLoad(msg)
	case consoleTickMsg:
		if msg.gen == p.gen && p.a.nav.shown(p) {
			return tea.Batch(p.load(), p.tick())
		}
	case consoleDoneMsg:
		close(msg.done)
		p.pending--
		return p.a.nav.done(msg.act)
	case actionMsg:
		if p.a.nav.shown(p) {
			return p.load()
		}
	case moveMsg:
		p.exl.Cur += msg.d
		p.exl.Clamp(len(p.ex))
	case clickMsg:
		// an exercise is started by key only
		if row := p.exl.Row(msg.y, 4, len(p.ex)); row >= 0 {
			p.exl.Cur = row
		}
	case doMsg:
		return p.do(msg.act)
	}
	return nil
}

func (p *consolePage) do(act action) tea.Cmd {
	switch act {
	case actPause:
		return p.togglePause()
	case actFaster:
		return p.scaleSpeed(2)
	case actSlower:
		return p.scaleSpeed(0.5)
	case actStart:
		return p.startExercise()
	case actDebrief:
		return p.writeDebrief()
	case actReload:
		return p.load()
	}
	return nil
}

// serial returns a tea.Cmd running f once every earlier console action's
// result has been handled. It never blocks the update loop: the waiting
// happens in the command's goroutine, which gives up when the session
// closes.
func (p *consolePage) serial(f func() actionMsg) tea.Cmd {
	prev, done := p.last, make(chan struct{})
	p.last = done
	p.pending++
	stop := p.a.stop
	return func() tea.Msg {
		if prev != nil {
			select {
			case <-prev:
			case <-stop:
				return nil
			}
		}
		return consoleDoneMsg{act: f(), done: done}
	}
}

func (p *consolePage) tick() tea.Cmd {
	gen := p.gen
	return tea.Tick(p.a.opts.ConsoleRefresh, func(time.Time) tea.Msg { return consoleTickMsg{gen} })
}

// load reads the clock, the exercises and the scoreboard off the update
// loop.
func (p *consolePage) load() tea.Cmd {
	tr := p.a.opts.Trainer
	if tr == nil {
		return nil
	}
	seq, idle := p.seq, p.pending == 0
	return func() tea.Msg {
		c, err := tr.Clock()
		return consoleMsg{seq: seq, idle: idle, clock: c, clockErr: err, ex: tr.Exercises(), scores: tr.Scoreboard()}
	}
}

// onLoad installs a load; its clock only when no action came since.
func (p *consolePage) onLoad(msg consoleMsg) {
	if msg.seq == p.seq && msg.idle {
		if msg.clockErr != nil && (p.clockErr == nil || p.clockErr.Error() != msg.clockErr.Error()) {
			p.a.setMsg("clock: "+msg.clockErr.Error(), true)
		}
		p.clock, p.clockErr = msg.clock, msg.clockErr
		p.loaded = true
	}
	p.ex, p.scores = msg.ex, msg.scores
	p.exl.Clamp(len(p.ex))
}

// togglePause pauses a running clock and resumes a paused one.
func (p *consolePage) togglePause() tea.Cmd {
	tr := p.a.opts.Trainer
	if tr == nil {
		return nil
	}
	p.seq++
	if p.clock.Paused {
		p.clock.Paused = false
		return p.serial(func() actionMsg {
			if err := tr.Resume(); err != nil {
				return actionMsg{"resume", err}
			}
			return actionMsg{"clock running", nil}
		})
	}
	p.clock.Paused = true
	return p.serial(func() actionMsg {
		if err := tr.Pause(); err != nil {
			return actionMsg{"pause", err}
		}
		return actionMsg{"clock paused", nil}
	})
}

// scaleSpeed multiplies the speed by factor, within MinSpeed..MaxSpeed.
func (p *consolePage) scaleSpeed(factor float64) tea.Cmd {
	tr := p.a.opts.Trainer
	if tr == nil {
		return nil
	}
	cur := p.clock.Speed
	if cur <= 0 {
		cur = 1
	}
	next := min(max(cur*factor, MinSpeed), MaxSpeed)
	if next == cur {
		p.a.setMsg("speed stays at "+fmtSpeed(cur)+" (range "+fmtSpeed(MinSpeed)+" to "+fmtSpeed(MaxSpeed)+")", false)
		return nil
	}
	p.seq++
	p.clock.Speed = next
	return p.serial(func() actionMsg {
		return actionMsg{"speed " + fmtSpeed(next), tr.SetSpeed(next)}
	})
}

// startExercise starts the selected exercise.
func (p *consolePage) startExercise() tea.Cmd {
	tr := p.a.opts.Trainer
	if tr == nil || p.exl.Cur >= len(p.ex) {
		return nil
	}
	name := p.ex[p.exl.Cur].Name
	return p.serial(func() actionMsg {
		if err := tr.StartExercise(name); err != nil {
			return actionMsg{"start " + name, err}
		}
		return actionMsg{"started exercise " + name, nil}
	})
}

// writeDebrief asks for the debrief; the status bar shows where it went.
func (p *consolePage) writeDebrief() tea.Cmd {
	tr := p.a.opts.Trainer
	if tr == nil {
		return nil
	}
	p.a.setMsg("writing the debrief…", false)
	return p.serial(func() actionMsg {
		path, err := tr.WriteDebrief()
		if err != nil {
			return actionMsg{"debrief", err}
		}
		return actionMsg{"debrief written to " + path, nil}
	})
}

// consoleHint is the console's keys as the clock line shows them.
var consoleHint = func() string {
	h := " "
	for _, b := range consoleKeys.bindings {
		if b.foot.Key != "" {
			h += "  " + b.foot.Key + ":" + b.foot.Desc
		}
	}
	return h
}()

var exerciseCols = []widget.Column{
	{Title: "EXERCISE", W: 12, Flex: 1, Prio: 9, Max: 28},
	{Title: "FIRED", W: 5, Right: true, Prio: 8},
	{Title: "STATE", W: 7, Prio: 7},
	{Title: "DESCRIPTION", W: 10, Flex: 3, Prio: 4},
}

var scoreCols = []widget.Column{
	{Title: "USER", W: 10, Flex: 1, Prio: 9, Max: 24},
	{Title: "ROLE", W: 11, Prio: 8},
	{Title: "ONLINE", W: 6, Prio: 7},
	{Title: "SEEN", W: 4, Right: true, Prio: 5},
	{Title: "ACKS", W: 4, Right: true, Prio: 6},
	{Title: "MEAN ACK", W: 8, Right: true, Prio: 6},
	{Title: "COMMENTS", W: 8, Right: true, Prio: 4},
	{Title: "REFUSED", W: 7, Right: true, Prio: 4},
}

// exerciseState names an exercise's state.
func exerciseState(e *Exercise) string {
	switch {
	case e.Running:
		return "running"
	case e.Steps > 0 && e.Fired >= e.Steps:
		return "done"
	}
	return "idle"
}

// view is the clock, the exercises and the scoreboard.
func (p *consolePage) view(w, h int) []string {
	out := []string{p.a.caption("CONSOLE · scenario clock", w), p.clockLine(w)}
	running := 0
	for i := range p.ex {
		if p.ex[i].Running {
			running++
		}
	}
	rest := h - len(out)
	exH := max(len(p.ex)+1, 2)
	if lim := (rest - 2) / 2; exH > lim {
		exH = max(lim, 2)
	}
	out = append(out, p.a.caption(fmt.Sprintf("EXERCISES %d · running %d · enter starts the selected one", len(p.ex), running), w))
	out = append(out, p.exercises(w, exH)...)
	online := 0
	for i := range p.scores {
		if p.scores[i].Online {
			online++
		}
	}
	out = append(out, p.a.caption(fmt.Sprintf("SCOREBOARD %d participants · online %d", len(p.scores), online), w))
	return append(out, p.scoreboard(w, h-len(out))...)
}

// clockLine is the clock and, when it fits, the console's keys.
func (p *consolePage) clockLine(w int) string {
	st := &p.a.st
	var clock string
	var paint *widget.Paint
	switch {
	case !p.loaded && p.clockErr == nil:
		clock = " clock: reading…"
		paint = &st.dim
	case p.clockErr != nil && !p.loaded:
		clock = " clock: " + p.clockErr.Error()
		paint = &st.bad
	default:
		run := "RUNNING"
		paint = &st.good
		if p.clock.Paused {
			run = "PAUSED"
			paint = &st.uncertain
		}
		clock = fmt.Sprintf(" elapsed %s   speed %s   %s", fmtElapsed(p.clock.Elapsed), fmtSpeed(max(p.clock.Speed, 0)), run)
	}
	hint := consoleHint
	if cw := widget.Width(clock); cw+widget.Width(hint) <= w {
		return paint.Render(clock) + st.dim.Render(widget.Fit(hint, w-cw))
	}
	return paint.Render(widget.Fit(clock, w))
}

func (p *consolePage) exercises(w, h int) []string {
	st := &p.a.st
	return widget.Table(w, h, exerciseCols, len(p.ex), &p.exl, true, st.table, func(r, col, cw int) (string, *widget.Paint) {
		e := &p.ex[r]
		switch col {
		case 0:
			return e.Name, nil
		case 1:
			return fmt.Sprintf("%d/%d", e.Fired, e.Steps), nil
		case 2:
			switch exerciseState(e) {
			case "running":
				return "running", &st.uncertain
			case "done":
				return "done", &st.good
			}
			return "idle", &st.dim
		case 3:
			return e.Description, nil
		}
		return "", nil
	})
}

func (p *consolePage) scoreboard(w, h int) []string {
	st := &p.a.st
	return widget.Table(w, h, scoreCols, len(p.scores), nil, false, st.table, func(r, col, cw int) (string, *widget.Paint) {
		sc := &p.scores[r]
		switch col {
		case 0:
			return sc.User, nil
		case 1:
			return sc.Role, nil
		case 2:
			if sc.Online {
				return "yes", &st.good
			}
			return "no", &st.dim
		case 3:
			return strconv.Itoa(sc.AlertsSeen), nil
		case 4:
			return strconv.Itoa(sc.Acks), nil
		case 5:
			if sc.Acks == 0 {
				return "—", &st.dim
			}
			return fmtAge(sc.MeanAck), nil
		case 6:
			return strconv.Itoa(sc.Comments), nil
		case 7:
			if sc.Refused > 0 {
				return strconv.Itoa(sc.Refused), &st.bad
			}
			return "0", nil
		}
		return "", nil
	})
}
