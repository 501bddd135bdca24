// Package tui is otwin's terminal dashboard: an asset tree, tag tables with
// sparklines, alerts with acknowledge and shelve, tag and alert detail,
// connection health and a fault panel, built on bubbletea. One Model serves
// one session (local terminal or one SSH session); it reads everything
// through the small Backend interface defined here and knows nothing of
// the store, the protocols or the twin behind it.
package tui

import (
	"context"
	"time"

	"github.com/otwin/otwin/role"

	"github.com/charmbracelet/lipgloss"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
)

// Backend is what the TUI reads and the actions it asks for. One Backend
// value serves one session: it is bound to the session's user, and it
// enforces what that user may do. All methods must be safe for concurrent
// use; the TUI calls the read methods from its update loop, so they must
// return quickly (a copy of in-memory state), and calls the actions (Ack,
// Shelve, Comment) from a tea.Cmd goroutine. An action's error is shown in the
// status bar.
//
// The backend decides what the session may do: Allowed answers before an
// action (the dashboard marks what is refused in its footers and help),
// and the action itself refuses in the same words (the dashboard still
// sends the attempt, so that the backend audits and counts it like any
// other).
type Backend interface {
	// Subscribe returns a feed of live updates; the TUI closes it on quit
	// (and Model.Close closes it too).
	Subscribe() Feed
	// Snapshot returns all tags, sorted by ID.
	Snapshot() []normalize.Sample
	// Alerts returns the alerts that are not Normal (active, returned to
	// normal but unacknowledged, or shelved).
	Alerts() []normalize.Alert
	// AlertHistory returns the transitions of one alert, oldest first.
	AlertHistory(id string) []normalize.AlertEvent
	// History appends the recent numeric values of tag id to dst, oldest
	// first, and returns it.
	History(id string, dst []float64) []float64
	// Health returns the health of every endpoint.
	Health() []connectors.Health
	// Ack acknowledges an alert with an optional comment, as the
	// session's user.
	Ack(alertID, comment string) error
	// Shelve hides an alert for d, or until it next clears when oneShot.
	Shelve(alertID, reason string, d time.Duration, oneShot bool) error
	// Comment adds a note to an alert's history, as the session's user,
	// without acknowledging it.
	Comment(alertID, text string) error
	// Allowed returns nil when the session's user may take the action,
	// else the refusal its attempt would get (e.g. "refused: trainers
	// cannot acknowledge alerts"). It must return quickly: the dashboard
	// asks when the session starts and when its role changes.
	Allowed(p Permission) error
}

// Permission is an action a backend may refuse a session. Its value says
// what is refused, so that a refusal reads "<role>s cannot " + value.
type Permission string

// The permissions the dashboard asks about.
const (
	PermAck     Permission = "acknowledge alerts"
	PermShelve  Permission = "shelve alerts"
	PermComment Permission = "comment on alerts"
	// PermFaults covers injecting and clearing simulator faults
	// (FaultControl.Inject and Clear).
	PermFaults Permission = "inject or clear faults"
)

// Permissions lists every Permission.
var Permissions = []Permission{PermAck, PermShelve, PermComment, PermFaults}

// Feed delivers live updates. The producer owns and closes the channel;
// Close asks it to stop and must be safe to call more than once.
type Feed interface {
	C() <-chan Update
	Close()
}

// DropCounter may be implemented by a Feed that loses intermediate updates
// for a slow viewer; the status bar shows the count.
type DropCounter interface {
	Dropped() uint64
}

// Update is one coalesced batch from the feed. Samples holds the latest
// value of each tag that changed (new IDs are added to the tree); Alerts
// holds alerts that changed, upserted by ID (an alert in state Normal that
// is not shelved is removed); Health holds endpoints whose health changed,
// upserted by Source.
type Update struct {
	Samples []normalize.Sample
	Alerts  []normalize.Alert
	Health  []connectors.Health
}

// Fault is one fault the simulator can inject.
type Fault struct {
	// Name identifies the fault in Inject and Clear.
	Name string
	// Kind is what the fault does, e.g. "stuck", "comm_loss".
	Kind string
	// Target is the machine, tag or endpoint it acts on.
	Target string
	// Protocol names the protocols on which clients see the fault, e.g.
	// "opcua", "modbus", "opcua+modbus", "none"; empty when unknown.
	Protocol string
	// Active says the fault is injected now, since Since.
	Active bool
	Since  time.Time
}

// FaultControl injects and clears simulator faults. It is optional: a nil
// FaultControl hides the fault panel. Methods are called from tea.Cmd
// goroutines and must be safe for concurrent use; errors (for instance
// "refused: operators cannot inject or clear faults", the words of
// Backend.Allowed(PermFaults)) are shown in the status bar.
type FaultControl interface {
	Faults() ([]Fault, error)
	Inject(name string) error
	Clear(name string) error
}

// Role is the kind of user a session serves (see package role, the one
// list of roles); it picks the opening view and what the pages show
// first. What a session may do is the backend's to say (Allowed).
type Role = role.Role

// The roles, as the TUI names them.
const (
	RoleOperator    = role.Operator
	RoleSupervisor  = role.Supervisor
	RoleMaintenance = role.Maintenance
	RoleQuality     = role.Quality
	RoleEngineer    = role.Engineer
	RoleTrainer     = role.Trainer
)

// Options configure a Model. The zero value is usable: an operator
// session titled "otwin" at 10 frames per second with the real clock.
type Options struct {
	// User is shown in the status bar (the backend binds the real user).
	User string
	// Role picks the opening view; empty means operator.
	Role Role
	// Faults, when non-nil, enables the fault panel (for every role:
	// the backend's Allowed(PermFaults) says who may inject).
	Faults FaultControl
	// LockRole refuses ":role" (an SSH session's role comes from the users
	// file; showing another would mislead its user).
	LockRole bool
	// Title is shown at the top left; empty means "otwin".
	Title string
	// FrameRate caps redraws caused by live data, per second; 0 means 10.
	// Key presses and resizes redraw at once.
	FrameRate int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NoColor renders without colour or attributes (NO_COLOR).
	NoColor bool
	// Renderer renders the styles; nil means lipgloss's default renderer
	// (over SSH pass the session's renderer).
	Renderer *lipgloss.Renderer
	// FaultRefresh is how often the open fault panel re-reads the faults;
	// 0 means 3s.
	FaultRefresh time.Duration
	// Trainer, when non-nil, enables the instructor console, and the
	// trainer role opens on it. Give it only to trainers' sessions.
	Trainer Trainer
	// ConsoleRefresh is how often the open console re-reads the clock,
	// the exercises and the scoreboard; 0 means 1s.
	ConsoleRefresh time.Duration
	// Width and Height are the screen size until the first
	// tea.WindowSizeMsg (an SSH session knows it from the pty); 0 means
	// 80×24.
	Width, Height int
	// Context, when set, ends the session: its feed is closed when the
	// context is done, as by Model.Close (an SSH session's context).
	Context context.Context
	// Scorecards, when non-nil, enables the data-quality scorecard page
	// (:scorecard).
	Scorecards Scorecards
}

// Scorecards gives the data-quality scorecards (normalize/score.Board
// does). Report is called from the update loop about once a second while
// the scorecard page is open, and must return quickly.
type Scorecards interface {
	Report() score.Report
}

// ServerHistory may be implemented by a Backend whose tags' endpoints
// keep their history (OPC UA HistoryRead): the tag detail then charts
// what the endpoint kept over the last minutes, not only the values this
// session has seen.
type ServerHistory interface {
	// TagHistory reads tag id's history between from and to from its
	// endpoint as n values, the averages of n equal intervals (NaN where
	// the endpoint has none). An error wrapping connectors.ErrNoHistory
	// says the tag's endpoint keeps none (a Modbus device): the chart then
	// shows the session's values without a note; any other error is
	// noted under the chart. It is called from a tea.Cmd; ctx bounds the
	// read.
	TagHistory(ctx context.Context, id string, from, to time.Time, n int) (HistorySeries, error)
}

// HistorySeries is a tag's history as its endpoint kept it.
type HistorySeries struct {
	// Values are the averages of equal intervals from From to To, oldest
	// first; NaN where the endpoint has no value.
	Values   []float64
	From, To time.Time
	// Aggregate says how they were made, e.g. "Average".
	Aggregate string
}

// Confirmer may be implemented by a Backend whose alerts include
// conditions their owner keeps until they are confirmed (OPC UA
// ConfirmedState): on such an acknowledged alert the acknowledge key
// confirms it. Confirm is called from a tea.Cmd, refused as Ack is.
type Confirmer interface {
	Confirm(alertID, comment string) error
}
