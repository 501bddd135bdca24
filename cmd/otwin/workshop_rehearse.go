package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/twin"
)

// rehearseConfig tunes a rehearsal.
type rehearseConfig struct {
	DataDir string
	// Speed is the scenario clock's speed between faults.
	Speed float64
	// Detect is how long each fault is watched at the scenario's own pace
	// before fast-forwarding through the rest of its window: the
	// collector's rules (stale, frozen, comm loss) count wall time, so a
	// fault must be given that long to raise its alert whatever the speed.
	Detect time.Duration
	Logger *slog.Logger
}

// rehearsedStep is what one exercise step did in a rehearsal.
type rehearsedStep struct {
	Exercise, Fault, Target string
	// Alert is the first alert on the fault's target after it fired (nil:
	// none within the step's longest window).
	Alert *workshop.RaisedAlert
	// After is the scenario time from the fault to the alert.
	After time.Duration
	// Problems are the expectations of the step that can never be met.
	Problems []string
}

// rehearseCmd runs the rehearsal and prints its report; it returns
// exitError{1} when an expectation can never be met.
func rehearseCmd(ctx context.Context, sc *scenarios.Scenario, dataDir string, speed float64, out io.Writer, logger *slog.Logger) error {
	if len(sc.Exercises) == 0 {
		fmt.Fprintf(out, "otwin: scenario %q has no exercises to rehearse\n", sc.Name)
		return nil
	}
	fmt.Fprintf(out, "otwin: rehearsing %d exercises of %q at %g× (each fault watched %s at its own pace first)…\n", len(sc.Exercises), sc.Name, speed, defaultDetect)
	steps, err := rehearse(ctx, sc, rehearseConfig{DataDir: dataDir, Speed: speed, Logger: logger})
	if err != nil {
		return err
	}
	bad := printRehearsal(out, steps)
	if bad > 0 {
		fmt.Fprintf(out, "otwin: %d expectations can never be met\n", bad)
		return exitError{1}
	}
	fmt.Fprintln(out, "otwin: every expectation can be met")
	return nil
}

// defaultDetect is rehearseConfig.Detect's default: longer than the
// exported sources' frozen window (10s) and comm-loss limit (5s).
const defaultDetect = 15 * time.Second

// printRehearsal writes the report and returns the number of problems.
func printRehearsal(out io.Writer, steps []rehearsedStep) int {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXERCISE\tFAULT\tALERT\tAFTER")
	bad := 0
	for _, s := range steps {
		alert, after := "none", "-"
		if s.Alert != nil {
			alert, after = s.Alert.ID, s.After.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Exercise, s.Fault, alert, after)
	}
	tw.Flush()
	for _, s := range steps {
		for _, p := range s.Problems {
			fmt.Fprintf(out, "problem: %s / %s: %s\n", s.Exercise, s.Fault, p)
			bad++
		}
	}
	return bad
}

// rehearse plays every exercise of sc on a local line (twin, its servers
// and the collector, no SSH) and judges every expectation.
func rehearse(ctx context.Context, sc *scenarios.Scenario, cfg rehearseConfig) ([]rehearsedStep, error) {
	if cfg.Speed <= 0 {
		cfg.Speed = 16
	}
	if cfg.Detect <= 0 {
		cfg.Detect = defaultDetect
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// Each exercise alone: the scenario's own timeline and the faults
	// that start by themselves stay out, so that every alert comes from
	// the exercise's faults.
	quiet := *sc
	quiet.Timeline = nil
	quiet.Faults = make([]scenarios.Fault, len(sc.Faults))
	for i, f := range sc.Faults {
		f.Start = nil
		quiet.Faults[i] = f
	}
	line, err := startLocalLine(ctx, &quiet, cfg.DataDir, nil, nil, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer line.Close()
	ctx, cancel := context.WithCancel(ctx)
	eng, col := line.Twin.Engine, line.Collector
	runErr := make(chan error, 1)
	go func() { runErr <- col.Run(ctx) }()
	// The collector stops before the twin's servers close (deferred
	// earlier, run later): no reconnect noise at the end.
	defer func() {
		cancel()
		<-runErr
	}()
	ws := workshop.New(&quiet, eng, nil)
	go followWorkshop(ctx, ws, col, cfg.Logger)
	// Every endpoint answering before the first fault.
	if !waitFor(ctx, 30*time.Second, func() bool { return allConnected(col) }) {
		return nil, fmt.Errorf("rehearsal: the collector did not reach every endpoint of %s within 30s", sc.Name)
	}
	var out []rehearsedStep
	for i := range sc.Exercises {
		ex := &sc.Exercises[i]
		if err := eng.SetSpeed(cfg.Speed); err != nil {
			return nil, err
		}
		if err := ws.StartExercise(ex.Name); err != nil {
			return nil, err
		}
		for j := range ex.Steps {
			s, err := rehearseStep(ctx, ws, eng, col, ex, j, cfg)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		// Clear what the exercise left active before the next one.
		for _, f := range eng.Faults() {
			if f.Active {
				_ = eng.Clear(f.Name)
			}
		}
	}
	return out, ctx.Err()
}

// rehearseStep waits for step j of ex to fire, watches its target for an
// alert (cfg.Detect at the scenario's pace, then fast through the rest
// of its longest window) and judges its expectations.
func rehearseStep(ctx context.Context, ws *workshop.Workshop, eng *twin.Engine, col *collector, ex *scenarios.Exercise, j int, cfg rehearseConfig) (rehearsedStep, error) {
	st := ex.Steps[j]
	target := ws.FaultTarget(st.Fault)
	s := rehearsedStep{Exercise: ex.Name, Fault: st.Fault, Target: target}
	wait := time.Duration(float64(st.At.D())/cfg.Speed) + 30*time.Second
	if !waitFor(ctx, wait, func() bool { return !ws.Fired(ex.Name, j).IsZero() }) {
		return s, fmt.Errorf("rehearsal: step %d of %s (fault %s) did not fire within %s", j+1, ex.Name, st.Fault, wait)
	}
	fired := ws.Fired(ex.Name, j)
	firedSim := eng.Status().Elapsed.D()
	window := time.Minute
	for _, e := range st.Expect {
		window = max(window, e.Within.D())
	}
	found := func() bool { return len(ws.RelatedAlerts(target, fired)) > 0 }
	simSince := func() time.Duration { return eng.Status().Elapsed.D() - firedSim }
	_ = eng.SetSpeed(1)
	ok := waitFor(ctx, cfg.Detect, func() bool { return found() || simSince() > window })
	if !ok && simSince() <= window {
		_ = eng.SetSpeed(cfg.Speed)
		wall := time.Duration(float64(window)/cfg.Speed) + 10*time.Second
		waitFor(ctx, wall, func() bool { return found() || simSince() > window })
	}
	_ = eng.SetSpeed(cfg.Speed)
	// Every alert the fault raised in its window, as the store has it (or
	// as the workshop saw it, when it is gone since).
	var alerts []normalize.Alert
	live := map[string]normalize.Alert{}
	for _, a := range col.Store.Alerts() {
		live[a.ID] = a
	}
	for i, ra := range ws.RelatedAlerts(target, fired) {
		after := ws.SimSpan(fired, ra.Raised)
		if i == 0 {
			s.Alert, s.After = &ra, after
		}
		if after > window {
			continue
		}
		a, ok := live[ra.ID]
		if !ok {
			a = normalize.Alert{ID: ra.ID, Kind: normalize.AlertKind(ra.Kind), Target: ra.Target, Message: ra.Message, State: normalize.ActiveUnacked}
		}
		alerts = append(alerts, a)
	}
	for _, e := range st.Expect {
		if p := judge(e, s, alerts); p != "" {
			s.Problems = append(s.Problems, p)
		}
	}
	return s, nil
}

// judge says why expectation e of a step can never be met ("" when it
// can): the role may not take the action, the fault raised no alert
// within the window, the alert came too late, or the role's opening view
// filters out every alert the fault raised in time (alerts).
func judge(e scenarios.Expectation, s rehearsedStep, alerts []normalize.Alert) string {
	r := role.Role(e.Role)
	who := fmt.Sprintf("%s must %s within %s", e.Role, e.Action, e.Within.D())
	perm := actionPerm[e.Action]
	sess := session{role: e.Role, policy: rolePolicy(e.Role, false)}
	if err := sess.check(perm); err != nil {
		if r == role.Engineer && perm == tui.PermFaults {
			return who + ", but engineers inject and clear faults only where the users file allows it"
		}
		return who + ", but " + refusalReason(err)
	}
	if perm == tui.PermFaults {
		return ""
	}
	if s.Alert == nil {
		return who + fmt.Sprintf(", but the fault raises no alert on %s", s.Target)
	}
	if s.After > e.Within.D() {
		return who + fmt.Sprintf(", but the first alert on %s comes only after %s", s.Target, s.After.Round(time.Second))
	}
	var hidden []string
	for _, a := range alerts {
		shown, err := roleShows(r, a)
		if err != nil {
			return who + ": the " + e.Role + " view could not be checked: " + err.Error()
		}
		if shown {
			return ""
		}
		hidden = append(hidden, a.ID)
	}
	return who + fmt.Sprintf(", but the %s role's alert view filters out %s", e.Role, strings.Join(hidden, " and "))
}

// roleShows runs the real dashboard, headless, for a session of role r
// whose store holds only alert a, opens its alert view as the role finds
// it (":alerts", with the role's opening filter), and reports whether the
// alert is listed.
func roleShows(r role.Role, a normalize.Alert) (bool, error) {
	b := &staticBackend{alerts: []normalize.Alert{a}}
	m := tui.New(b, tui.Options{User: "rehearsal", Role: r, LockRole: true, NoColor: true, Width: 240, Height: 40})
	defer m.Close()
	var out lockedBuffer
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(&out), tea.WithoutSignalHandler())
	done := make(chan tea.Model, 1)
	go func() {
		fm, _ := p.Run()
		done <- fm
	}()
	p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":")})
	p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("alerts")})
	p.Send(tea.KeyMsg{Type: tea.KeyEnter})
	opened := waitFor(context.Background(), 5*time.Second, func() bool {
		return strings.Contains(ansi.Strip(out.String()), "[Alerts]")
	})
	// The alert's row, known by the start of its message (a long one is
	// cut at the column's end). The rows follow the view's first frame:
	// give them time to be drawn.
	mark := a.Message
	if r := []rune(mark); len(r) > 24 {
		mark = string(r[:24])
	}
	shown := opened && waitFor(context.Background(), 2*time.Second, func() bool {
		return strings.Contains(ansi.Strip(out.String()), mark)
	})
	p.Quit()
	fm := <-done
	if !opened || fm == nil {
		return false, errors.New("the alert view did not open")
	}
	return shown || strings.Contains(ansi.Strip(fm.View()), mark), nil
}

// allConnected reports whether every source of the collector has
// delivered and its endpoint is up.
func allConnected(col *collector) bool {
	hs := col.Store.Health()
	if len(hs) < len(col.Sources.Sources) {
		return false
	}
	for _, h := range hs {
		if h.State != connectors.Connected {
			return false
		}
	}
	return true
}

// waitFor polls cond every 50ms until it holds (true), ctx ends or
// timeout passes (false).
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// lockedBuffer is a buffer safe for the program's writer goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// staticBackend is a dashboard backend over fixed alerts, for the
// rehearsal's look at what a role's view shows.
type staticBackend struct{ alerts []normalize.Alert }

func (b *staticBackend) Subscribe() tui.Feed                        { return newIdleFeed() }
func (b *staticBackend) Snapshot() []normalize.Sample               { return nil }
func (b *staticBackend) Alerts() []normalize.Alert                  { return b.alerts }
func (b *staticBackend) AlertHistory(string) []normalize.AlertEvent { return nil }
func (b *staticBackend) History(_ string, dst []float64) []float64  { return dst }
func (b *staticBackend) Health() []connectors.Health                { return nil }
func (b *staticBackend) Ack(string, string) error                   { return errors.New("rehearsal: no actions") }
func (b *staticBackend) Shelve(string, string, time.Duration, bool) error {
	return errors.New("rehearsal: no actions")
}
func (b *staticBackend) Comment(string, string) error { return errors.New("rehearsal: no actions") }
func (b *staticBackend) Allowed(tui.Permission) error { return nil }

// idleFeed sends nothing until closed.
type idleFeed struct {
	c    chan tui.Update
	once sync.Once
}

func newIdleFeed() *idleFeed             { return &idleFeed{c: make(chan tui.Update)} }
func (f *idleFeed) C() <-chan tui.Update { return f.c }
func (f *idleFeed) Close()               { f.once.Do(func() { close(f.c) }) }
