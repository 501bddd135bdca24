package tuifake

import (
	"fmt"
	"sync"
	"time"

	"github.com/otwin/otwin/tui"
)

// Class is an in-memory workshop: a tui.Trainer with a fixed clock, two
// exercises and a small scoreboard, that records every call. Starting an
// exercise fires its first step at once; nothing else moves by itself.
// All methods are safe for concurrent use.
type Class struct {
	// DebriefPath is what WriteDebrief returns.
	DebriefPath string
	// Fail, when set, is returned by every action (not by the reads).
	Fail error

	mu     sync.Mutex
	clock  tui.Clock
	ex     []tui.Exercise
	scores []tui.Score
	calls  []string
}

// NewClass returns the fake workshop: 4m05s into the scenario at normal
// speed, running; exercise "frozen-torque" (2 steps) and "pallet-jam"
// (1 step) not started; four participants.
func NewClass() *Class {
	return &Class{
		DebriefPath: "otwin-debrief-20261121-120000/debrief.md",
		clock:       tui.Clock{Elapsed: 4*time.Minute + 5*time.Second, Speed: 1},
		ex: []tui.Exercise{
			{Name: "frozen-torque", Description: "The capper's torque stops moving while the line runs. Spot it, acknowledge it, get it fixed.", Steps: 2},
			{Name: "pallet-jam", Description: "The palletizer jams; maintenance clears it.", Steps: 1},
		},
		scores: []tui.Score{
			{User: "maria", Role: "maintenance", Online: true, AlertsSeen: 3, Acks: 1, MeanAck: 95 * time.Second, Comments: 1},
			{User: "olga", Role: "operator", Online: true, AlertsSeen: 3, Acks: 2, MeanAck: 42 * time.Second, Comments: 1},
			{User: "quinn", Role: "quality", AlertsSeen: 1, Refused: 1},
			{User: "tom", Role: "trainer", Online: true},
		},
	}
}

// Calls returns the actions so far, e.g. "pause", "speed 2",
// "start frozen-torque", "debrief".
func (c *Class) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// SetScore replaces the scoreboard line of s.User (or adds it).
func (c *Class) SetScore(s tui.Score) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.scores {
		if c.scores[i].User == s.User {
			c.scores[i] = s
			return
		}
	}
	c.scores = append(c.scores, s)
}

func (c *Class) call(what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, what)
	return c.Fail
}

// Exercises lists the exercises with their progress.
func (c *Class) Exercises() []tui.Exercise {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tui.Exercise(nil), c.ex...)
}

// StartExercise starts the named exercise, firing its first step; it
// fails for an unknown or running exercise.
func (c *Class) StartExercise(name string) error {
	if err := c.call("start " + name); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.ex {
		e := &c.ex[i]
		if e.Name != name {
			continue
		}
		if e.Running {
			return fmt.Errorf("exercise %q is already running", name)
		}
		e.Fired, e.Running = 1, e.Steps > 1
		return nil
	}
	return fmt.Errorf("no exercise %q", name)
}

// Clock reports the clock.
func (c *Class) Clock() (tui.Clock, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clock, nil
}

// Pause stops the clock.
func (c *Class) Pause() error {
	if err := c.call("pause"); err != nil {
		return err
	}
	c.mu.Lock()
	c.clock.Paused = true
	c.mu.Unlock()
	return nil
}

// Resume lets the clock run.
func (c *Class) Resume() error {
	if err := c.call("resume"); err != nil {
		return err
	}
	c.mu.Lock()
	c.clock.Paused = false
	c.mu.Unlock()
	return nil
}

// SetSpeed sets the speed; f must be in (0, 10000] as the twin's.
func (c *Class) SetSpeed(f float64) error {
	if err := c.call(fmt.Sprintf("speed %g", f)); err != nil {
		return err
	}
	if !(f > 0 && f <= 10000) {
		return fmt.Errorf("speed %g: must be > 0 and <= 10000", f)
	}
	c.mu.Lock()
	c.clock.Speed = f
	c.mu.Unlock()
	return nil
}

// Scoreboard returns the scoreboard.
func (c *Class) Scoreboard() []tui.Score {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tui.Score(nil), c.scores...)
}

// WriteDebrief records the call and returns DebriefPath.
func (c *Class) WriteDebrief() (string, error) {
	if err := c.call("debrief"); err != nil {
		return "", err
	}
	return c.DebriefPath, nil
}

var _ tui.Trainer = (*Class)(nil)
