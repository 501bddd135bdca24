package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/twin"
)

// workshopClock is what the instructor console needs of the twin's clock;
// *twin.Engine has it. Its methods must be safe for concurrent use.
type workshopClock interface {
	Status() twin.Status
	Pause()
	Resume()
	SetSpeed(f float64) error
}

// debriefWriter writes a workshop's debrief into one directory. The
// console's d and the end of the workshop share it, so two writes never
// run at once. Safe for concurrent use.
type debriefWriter struct {
	ws  *workshop.Workshop
	dir string
	mu  sync.Mutex
}

// write writes debrief.md and debrief.html and returns the Markdown
// file's path.
func (d *debriefWriter) write() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return writeDebrief(d.ws, d.dir)
}

// consoleHook returns the hook that gives each trainer's session its own
// console, bound to the session's user.
func consoleHook(ws *workshop.Workshop, clock workshopClock, debrief *debriefWriter) func(*session) tui.Trainer {
	return func(sess *session) tui.Trainer {
		return &trainerConsole{ws: ws, clock: clock, debrief: debrief, sess: sess}
	}
}

// trainerConsole is the instructor console of one trainer's session. Only
// trainers' sessions are given one (startSSH decides, on the server); it
// checks the session's policy all the same, and every action is audited
// with the session's user and recorded for the debrief. Safe for
// concurrent use.
type trainerConsole struct {
	ws      *workshop.Workshop
	clock   workshopClock
	debrief *debriefWriter
	sess    *session
}

var _ tui.Trainer = (*trainerConsole)(nil)

// Exercises lists the scenario's exercises with their progress.
func (c *trainerConsole) Exercises() []tui.Exercise {
	states := c.ws.ExerciseStates()
	out := make([]tui.Exercise, 0, len(states))
	for _, st := range states {
		out = append(out, tui.Exercise{Name: st.Name, Description: st.Description, Steps: st.Steps, Fired: st.Fired, Running: st.Running})
	}
	return out
}

// allowed returns the refusal of an action the session's policy forbids.
func (c *trainerConsole) allowed(what string) error {
	if !c.sess.policy.Faults {
		return c.sess.refuse(what)
	}
	return nil
}

// StartExercise starts the named exercise, as the session's user.
func (c *trainerConsole) StartExercise(name string) error {
	err := c.allowed("start exercises")
	if err == nil {
		err = c.ws.StartExercise(name)
	}
	c.sess.record("exercise", name, "", err)
	return err
}

// Clock reports the twin's clock.
func (c *trainerConsole) Clock() (tui.Clock, error) {
	st := c.clock.Status()
	return tui.Clock{Elapsed: time.Duration(st.Elapsed), Speed: st.Speed, Paused: st.Paused}, nil
}

// Pause stops the twin's clock (and with it the exercises' timelines).
func (c *trainerConsole) Pause() error {
	err := c.allowed("control the clock")
	if err == nil {
		c.clock.Pause()
	}
	c.sess.record("clock", "pause", "", err)
	return err
}

// Resume lets the twin's clock run again.
func (c *trainerConsole) Resume() error {
	err := c.allowed("control the clock")
	if err == nil {
		c.clock.Resume()
	}
	c.sess.record("clock", "resume", "", err)
	return err
}

// SetSpeed sets the twin's speed multiplier.
func (c *trainerConsole) SetSpeed(f float64) error {
	err := c.allowed("control the clock")
	if err == nil {
		err = c.clock.SetSpeed(f)
	}
	c.sess.record("clock", fmt.Sprintf("speed %g", f), "", err)
	return err
}

// Scoreboard is the workshop's live scoreboard with who is online.
func (c *trainerConsole) Scoreboard() []tui.Score {
	online := map[string]bool{}
	for _, p := range c.ws.Participants() {
		online[p.User] = p.Online
	}
	scores := c.ws.Scoreboard()
	out := make([]tui.Score, 0, len(scores))
	for _, s := range scores {
		out = append(out, tui.Score{User: s.User, Role: s.Role, Online: online[s.User], AlertsSeen: s.AlertsSeen,
			Acks: s.Acks, MeanAck: s.MeanAck, Comments: s.Comments, Refused: s.Refused})
	}
	return out
}

// WriteDebrief writes debrief.md and debrief.html into the workshop's
// report directory and returns the Markdown file's path.
func (c *trainerConsole) WriteDebrief() (string, error) {
	path, err := "", c.allowed("write the debrief")
	if err == nil {
		path, err = c.debrief.write()
		if err != nil {
			err = fmt.Errorf("debrief in %s: %w", c.debrief.dir, err)
		}
	}
	c.sess.record("debrief", path, "", err)
	return path, err
}
