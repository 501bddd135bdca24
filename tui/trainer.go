package tui

import "time"

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
