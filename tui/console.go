package tui

import (
	"fmt"
	"strconv"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Trainer is the instructor console's view of a running workshop: its
// clock, its exercises and the live scoreboard. It is optional: a nil
// Trainer hides the console. One Trainer value serves one session and is
// bound to its user, so that whoever runs the workshop records who paused,
// sped up or started what; it should only ever be given to trainers'
// sessions (the UI shows whatever it is given).
//
// All methods must be safe for concurrent use; the TUI calls every one of
// them from tea.Cmd goroutines, never from its update loop, and shows an
// error in the status bar.
type Trainer interface {
	// Exercises lists the workshop's exercises with their progress.
	Exercises() []Exercise
	// StartExercise starts playing the named exercise from now.
	StartExercise(name string) error
	// Clock reports the scenario clock.
	Clock() (Clock, error)
	// Pause stops the scenario clock; Resume lets it run again.
	Pause() error
	Resume() error
	// SetSpeed sets the clock's speed multiplier (the console keeps it
	// within MinSpeed..MaxSpeed).
	SetSpeed(f float64) error
	// Scoreboard is one line per participant.
	Scoreboard() []Score
	// WriteDebrief writes the debrief report and returns where.
	WriteDebrief() (string, error)
}

// Exercise is one exercise of a workshop and how far it has got.
type Exercise struct {
	Name, Description string
	// Steps is the number of steps; Fired how many of them have fired in
	// the latest run.
	Steps, Fired int
	// Running is true while a started run has steps left to fire.
	Running bool
}

// Clock is the scenario clock as the console shows it.
type Clock struct {
	// Elapsed is the simulated time since the scenario started.
	Elapsed time.Duration
	// Speed is the live multiplier (1 = the scenario's own pace).
	Speed float64
	// Paused says the clock stands still.
	Paused bool
}

// Score is one participant's line of the scoreboard.
type Score struct {
	User, Role string
	// Online says the participant has a session open now.
	Online bool
	// AlertsSeen counts alerts raised while the participant was there.
	AlertsSeen int
	// Acks counts acknowledgements; MeanAck is their mean time from the
	// alert's activation.
	Acks    int
	MeanAck time.Duration
	// Comments counts acknowledgements and shelvings with a comment;
	// Refused counts actions the server refused.
	Comments, Refused int
}

// The speed range the console's + and - keys keep to.
const (
	MinSpeed = 0.25
	MaxSpeed = 64
)

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

// consoleState is what the console last read.
type consoleState struct {
	clock    Clock
	clockErr error
	loaded   bool
	ex       []Exercise
	scores   []Score
	exl      listPos
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

// serial returns a tea.Cmd running f once every earlier console action's
// result has been handled. It never blocks the update loop: the waiting
// happens in the command's goroutine, which gives up when the session
// closes.
func (s *state) serial(f func() actionMsg) tea.Cmd {
	prev, done := s.con.last, make(chan struct{})
	s.con.last = done
	s.con.pending++
	stop := s.stop
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

// onConsoleDone lets the next console action run and returns the
// action's result.
func (s *state) onConsoleDone(msg consoleDoneMsg) actionMsg {
	close(msg.done)
	s.con.pending--
	return msg.act
}

func (s *state) consoleAllowed() bool { return s.opts.Trainer != nil }

func (s *state) openConsole() tea.Cmd {
	s.con.gen++
	return tea.Batch(s.loadConsole(), s.consoleTick())
}

func (s *state) consoleTick() tea.Cmd {
	gen := s.con.gen
	return tea.Tick(s.opts.ConsoleRefresh, func(time.Time) tea.Msg { return consoleTickMsg{gen} })
}

// loadConsole reads the clock, the exercises and the scoreboard off the
// update loop.
func (s *state) loadConsole() tea.Cmd {
	tr := s.opts.Trainer
	if tr == nil {
		return nil
	}
	seq, idle := s.con.seq, s.con.pending == 0
	return func() tea.Msg {
		c, err := tr.Clock()
		return consoleMsg{seq: seq, idle: idle, clock: c, clockErr: err, ex: tr.Exercises(), scores: tr.Scoreboard()}
	}
}

// onConsole installs a console load.
func (s *state) onConsole(msg consoleMsg) {
	c := &s.con
	if msg.seq == c.seq && msg.idle {
		if msg.clockErr != nil && (c.clockErr == nil || c.clockErr.Error() != msg.clockErr.Error()) {
			s.setMsg("clock: "+msg.clockErr.Error(), true)
		}
		c.clock, c.clockErr = msg.clock, msg.clockErr
		c.loaded = true
	}
	c.ex, c.scores = msg.ex, msg.scores
	c.exl.clamp(len(c.ex))
	s.invalidate()
}

// togglePause pauses a running clock and resumes a paused one.
func (s *state) togglePause() tea.Cmd {
	tr := s.opts.Trainer
	if tr == nil {
		return nil
	}
	s.con.seq++
	if s.con.clock.Paused {
		s.con.clock.Paused = false
		return s.serial(func() actionMsg {
			if err := tr.Resume(); err != nil {
				return actionMsg{"resume", err}
			}
			return actionMsg{"clock running", nil}
		})
	}
	s.con.clock.Paused = true
	return s.serial(func() actionMsg {
		if err := tr.Pause(); err != nil {
			return actionMsg{"pause", err}
		}
		return actionMsg{"clock paused", nil}
	})
}

// scaleSpeed multiplies the speed by factor, within MinSpeed..MaxSpeed.
func (s *state) scaleSpeed(factor float64) tea.Cmd {
	tr := s.opts.Trainer
	if tr == nil {
		return nil
	}
	cur := s.con.clock.Speed
	if cur <= 0 {
		cur = 1
	}
	next := min(max(cur*factor, MinSpeed), MaxSpeed)
	if next == cur {
		s.setMsg("speed stays at "+fmtSpeed(cur)+" (range "+fmtSpeed(MinSpeed)+" to "+fmtSpeed(MaxSpeed)+")", false)
		return nil
	}
	s.con.seq++
	s.con.clock.Speed = next
	return s.serial(func() actionMsg {
		return actionMsg{"speed " + fmtSpeed(next), tr.SetSpeed(next)}
	})
}

// startExercise starts the selected exercise.
func (s *state) startExercise() tea.Cmd {
	tr := s.opts.Trainer
	if tr == nil || s.con.exl.cur >= len(s.con.ex) {
		return nil
	}
	name := s.con.ex[s.con.exl.cur].Name
	return s.serial(func() actionMsg {
		if err := tr.StartExercise(name); err != nil {
			return actionMsg{"start " + name, err}
		}
		return actionMsg{"started exercise " + name, nil}
	})
}

// writeDebrief asks for the debrief; the status bar shows where it went.
func (s *state) writeDebrief() tea.Cmd {
	tr := s.opts.Trainer
	if tr == nil {
		return nil
	}
	s.setMsg("writing the debrief…", false)
	return s.serial(func() actionMsg {
		path, err := tr.WriteDebrief()
		if err != nil {
			return actionMsg{"debrief", err}
		}
		return actionMsg{"debrief written to " + path, nil}
	})
}

// fmtSpeed formats a speed multiplier: "0.25×", "2×".
func fmtSpeed(f float64) string {
	return strconv.FormatFloat(f, 'g', 4, 64) + "×"
}

// fmtElapsed formats simulated elapsed time as h:mm:ss.
func fmtElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60)
}

var exerciseCols = []col{
	{title: "EXERCISE", w: 12, flex: 1, prio: 9, max: 28},
	{title: "FIRED", w: 5, right: true, prio: 8},
	{title: "STATE", w: 7, prio: 7},
	{title: "DESCRIPTION", w: 10, flex: 3, prio: 4},
}

var scoreCols = []col{
	{title: "USER", w: 10, flex: 1, prio: 9, max: 24},
	{title: "ROLE", w: 11, prio: 8},
	{title: "ONLINE", w: 6, prio: 7},
	{title: "SEEN", w: 4, right: true, prio: 5},
	{title: "ACKS", w: 4, right: true, prio: 6},
	{title: "MEAN ACK", w: 8, right: true, prio: 6},
	{title: "COMMENTS", w: 8, right: true, prio: 4},
	{title: "REFUSED", w: 7, right: true, prio: 4},
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

// viewConsole is the instructor console: the clock, the exercises and
// the scoreboard.
func (s *state) viewConsole(w, h int) []string {
	c := &s.con
	out := []string{s.caption("CONSOLE · scenario clock", w)}
	var clock string
	var st *paint
	switch {
	case !c.loaded && c.clockErr == nil:
		clock = " clock: reading…"
		st = &s.st.dim
	case c.clockErr != nil && !c.loaded:
		clock = " clock: " + c.clockErr.Error()
		st = &s.st.bad
	default:
		run := "RUNNING"
		st = &s.st.good
		if c.clock.Paused {
			run = "PAUSED"
			st = &s.st.uncertain
		}
		clock = fmt.Sprintf(" elapsed %s   speed %s   %s", fmtElapsed(c.clock.Elapsed), fmtSpeed(max(c.clock.Speed, 0)), run)
	}
	keys := "   space:pause/run  +/-:speed  enter:start  d:debrief  f:faults"
	if len([]rune(clock))+len([]rune(keys)) <= w {
		out = append(out, st.Render(clock)+s.st.dim.Render(fit(keys, w-len([]rune(clock)))))
	} else {
		out = append(out, st.Render(fit(clock, w)))
	}

	running := 0
	for i := range c.ex {
		if c.ex[i].Running {
			running++
		}
	}
	rest := h - len(out)
	exH := max(len(c.ex)+1, 2)
	if lim := (rest - 2) / 2; exH > lim {
		exH = max(lim, 2)
	}
	out = append(out, s.caption(fmt.Sprintf("EXERCISES %d · running %d · enter starts the selected one", len(c.ex), running), w))
	out = append(out, s.table(w, exH, exerciseCols, len(c.ex), &c.exl, true, func(r, col, cw int) (string, *paint) {
		e := &c.ex[r]
		switch col {
		case 0:
			return e.Name, nil
		case 1:
			return fmt.Sprintf("%d/%d", e.Fired, e.Steps), nil
		case 2:
			switch exerciseState(e) {
			case "running":
				return "running", &s.st.uncertain
			case "done":
				return "done", &s.st.good
			}
			return "idle", &s.st.dim
		case 3:
			return e.Description, nil
		}
		return "", nil
	})...)

	online := 0
	for i := range c.scores {
		if c.scores[i].Online {
			online++
		}
	}
	out = append(out, s.caption(fmt.Sprintf("SCOREBOARD %d participants · online %d", len(c.scores), online), w))
	out = append(out, s.table(w, h-len(out), scoreCols, len(c.scores), nil, false, func(r, col, cw int) (string, *paint) {
		sc := &c.scores[r]
		switch col {
		case 0:
			return sc.User, nil
		case 1:
			return sc.Role, nil
		case 2:
			if sc.Online {
				return "yes", &s.st.good
			}
			return "no", &s.st.dim
		case 3:
			return strconv.Itoa(sc.AlertsSeen), nil
		case 4:
			return strconv.Itoa(sc.Acks), nil
		case 5:
			if sc.Acks == 0 {
				return "—", &s.st.dim
			}
			return fmtAge(sc.MeanAck), nil
		case 6:
			return strconv.Itoa(sc.Comments), nil
		case 7:
			if sc.Refused > 0 {
				return strconv.Itoa(sc.Refused), &s.st.bad
			}
			return "0", nil
		}
		return "", nil
	})...)
	return out
}
