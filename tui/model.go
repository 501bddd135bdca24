package tui

import (
	"log/slog"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// syncRows is the table size up to which filtering and sorting run
// inline; larger tables use a tea.Cmd.
const syncRows = 4096

// Messages from the outside and from commands.
type (
	feedMsg       struct{ u Update }
	feedClosedMsg struct{}
	frameMsg      struct{}
	clockMsg      struct{}
	// actionMsg is the result of a backend action (ack, inject, pause…):
	// the status line shows it, and every page sees it (the fault panel
	// and the console re-read).
	actionMsg struct {
		what string
		err  error
	}
)

// Messages the router gives a page's update, at once (not through the
// program's queue).
type (
	// doMsg runs the action of one of the page's bindings, or the global
	// actBack (esc) on a tab page.
	doMsg struct{ act action }
	// moveMsg moves the page's cursor or scroll by d rows.
	moveMsg struct{ d int }
	// clickMsg is a left click at x, y of the page's body (y 0 is the
	// body's first line).
	clickMsg struct{ x, y int }
	// openMsg: navigation shows the page, about arg (a tag id for the tag
	// detail, an alert id, an endpoint; "" for a tab).
	openMsg struct{ arg string }
	// resumeMsg: the page shows again (back from a page over it, or the
	// session starts on it).
	resumeMsg struct{}
	// roleMsg: the session's role changed (app.role).
	roleMsg struct{}
	// tagsMsg: new tags joined the tag list and the tree.
	tagsMsg struct{}
)

// page is one view of the dashboard. It owns its state, its keys and its
// view; the router owns navigation, the header, the status bar and the
// bottom line (prompt, message or footer). A page is registered with a
// pageDef in the page list (router.go).
type page interface {
	// keys are the key groups that apply now, most specific first; the
	// router dispatches a key to the first binding that has it, then to
	// the global keys, and builds the footer from the same groups.
	keys() []*keyGroup
	// update handles the router's messages (doMsg, moveMsg, clickMsg,
	// openMsg, resumeMsg, roleMsg, tagsMsg) and every message the router
	// does not handle itself (a page's own loads and ticks, actionMsg).
	// It ignores what is not its own.
	update(msg tea.Msg) tea.Cmd
	// view renders the page's body: h lines (fewer are padded) of exactly
	// w cells.
	view(w, h int) []string
}

// navigator is what the router offers pages.
type navigator interface {
	// show shows the page registered as id, about arg: a tab replaces
	// the pages shown; any other page is shown over the current one (and
	// replaces it when that is not a tab). A page the session lacks shows
	// its refusal in the status line.
	show(id, arg string) tea.Cmd
	// back returns from a page shown over another.
	back() tea.Cmd
	// prompt opens the bottom line's editor.
	prompt(text, value string, p promptSpec) tea.Cmd
	// promptFor opens the editor, empty, behind a prompt that depends on
	// the line's width (see widget.Prompt.OpenFor).
	promptFor(label func(w int) string, p promptSpec) tea.Cmd
	// shown says whether p is the page on the screen.
	shown(p page) bool
	// done handles an action's result as if it came from a command.
	done(m actionMsg) tea.Cmd
}

// promptSpec says what the bottom line's editor is for.
type promptSpec struct {
	// change is called after every edit (a filter applies while typing).
	change func(v string) tea.Cmd
	// submit is called on enter with the text, trimmed.
	submit func(v string) tea.Cmd
	// cancel is called on esc; nil shows "cancelled".
	cancel func() tea.Cmd
}

// app is what the pages of one session share: the backend, options,
// clock and theme; the data read; the tag table (tree and tags pages) and
// the alert list (alerts, alert detail, the strip below the tree); the
// status message; and navigation.
type app struct {
	b    Backend
	opts Options
	now  func() time.Time
	st   styles
	role Role
	stop chan struct{} // closed by Close

	d      *data
	table  *tagTable
	alerts *alertList
	nav    navigator

	msg     string
	msgErr  bool
	msgAt   time.Time // when the message was set
	cacheOK bool      // the last rendered frame is current

	// refused holds the backend's refusal of each permission it denies
	// the session (read when the session starts and its role changes);
	// permGen counts the readings, for what is cached from them.
	refused map[Permission]string
	permGen int
}

// How long a status message stays: a notice, an error. A key press
// clears it sooner.
const (
	msgTTL    = 5 * time.Second
	msgErrTTL = 10 * time.Second
)

// setMsg shows m in the bottom line until the next key, or until it
// expires (msgTTL, msgErrTTL).
func (a *app) setMsg(m string, isErr bool) {
	a.msg, a.msgErr, a.msgAt = m, isErr, a.now()
	a.invalidate()
}

// expireMsg drops the status message once it has been shown long enough.
func (a *app) expireMsg() {
	ttl := msgTTL
	if a.msgErr {
		ttl = msgErrTTL
	}
	if a.msg != "" && a.now().Sub(a.msgAt) >= ttl {
		a.msg, a.msgErr = "", false
		a.invalidate()
	}
}

// readPermissions asks the backend what the session may do.
func (a *app) readPermissions() {
	a.refused = map[Permission]string{}
	for _, p := range Permissions {
		if err := a.b.Allowed(p); err != nil {
			a.refused[p] = err.Error()
		}
	}
	a.permGen++
	a.invalidate()
}

// refusal is why the session may not take p, or "".
func (a *app) refusal(p Permission) string { return a.refused[p] }

// may says whether the session may take p.
func (a *app) may(p Permission) bool { return a.refused[p] == "" }

// invalidate makes the next View render.
func (a *app) invalidate() { a.cacheOK = false }

// caption renders a pane's title line.
func (a *app) caption(text string, w int) string { return a.st.caption(text, w) }

// Model is the TUI of one session, a tea.Model. Create it with New; it is
// used by one bubbletea program's goroutine only. Call Close after the
// program ends to release the feed.
type Model struct{ s *router }

// New returns the TUI model for one session reading b. It takes a
// snapshot of b at once; the live feed is subscribed in Init.
func New(b Backend, opts Options) Model {
	if opts.Title == "" {
		opts.Title = "otwin"
	}
	if opts.FaultRefresh <= 0 {
		opts.FaultRefresh = 3 * time.Second
	}
	if opts.ConsoleRefresh <= 0 {
		opts.ConsoleRefresh = time.Second
	}
	a := &app{b: b, opts: opts, now: opts.Now, stop: make(chan struct{})}
	if a.now == nil {
		a.now = time.Now
	}
	a.st = newStyles(opts.Renderer, opts.NoColor)
	a.d = newData(b, a.now)
	a.table = newTagTable(a)
	a.alerts = &alertList{a: a}
	r := newRouter(a)
	a.nav = r
	a.alerts.refresh()
	role := opts.Role
	if role == "" {
		role = RoleOperator
	}
	a.table.syncJobs = true // the first table is computed before the first frame
	r.setRole(role)
	a.table.syncJobs = false
	m := Model{r}
	if ctx := opts.Context; ctx != nil {
		go func() {
			<-ctx.Done()
			m.Close()
		}()
	}
	return m
}

// Close releases the session's feed; safe to call more than once and
// after the program has ended.
func (m Model) Close() {
	s := m.s
	s.once.Do(func() {
		close(s.a.stop)
		s.feedMu.Lock()
		defer s.feedMu.Unlock()
		s.closed = true
		if s.feed != nil {
			s.feed.Close()
		}
	})
}

// Init subscribes to the backend's feed and starts the clock.
func (m Model) Init() tea.Cmd {
	s := m.s
	s.feedMu.Lock()
	if s.feed == nil && !s.closed {
		s.feed = s.a.b.Subscribe()
	}
	s.feedMu.Unlock()
	return tea.Batch(waitFeed(s.feed), clockTick(), s.top().update(resumeMsg{}))
}

// waitFeed waits for the next update; it is re-armed after each one.
func waitFeed(f Feed) tea.Cmd {
	if f == nil {
		return nil
	}
	ch := f.C()
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return feedClosedMsg{}
		}
		return feedMsg{u}
	}
}

func clockTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{} })
}

// session is the part of the router that lives as long as the program:
// the feed, frame coalescing, the drop count.
type session struct {
	frame       time.Duration
	feed        Feed       // set once in Init, under feedMu
	feedMu      sync.Mutex // Init and Close may race when Options.Context ends early
	closed      bool
	once        sync.Once
	quitting    bool
	feedClosed  bool
	dropped     uint64
	dirty       bool // data changed since the last frame
	tickPending bool
	cache       string
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	s := m.s
	a := s.a
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
		s.in.SetWidth(s.w)
		a.invalidate()
		return m, nil
	case feedMsg:
		a.d.apply(msg.u)
		if len(msg.u.Alerts) > 0 {
			// at once, not on the next frame: the list's rows index the
			// alerts, and a key pressed before that frame acts on them
			a.alerts.refresh()
		}
		s.dirty = true
		cmds := []tea.Cmd{waitFeed(s.feed)}
		if !s.tickPending {
			s.tickPending = true
			cmds = append(cmds, tea.Tick(s.frame, func(time.Time) tea.Msg { return frameMsg{} }))
		}
		return m, tea.Batch(cmds...)
	case feedClosedMsg:
		s.feedClosed = true
		a.setMsg("live data stopped: the server closed this session's feed", true)
		return m, nil
	case frameMsg:
		s.tickPending = false
		return m, s.onFrame()
	case clockMsg:
		if dc, ok := s.feed.(DropCounter); ok {
			s.dropped = dc.Dropped()
		}
		a.expireMsg()
		a.invalidate() // ages move
		return m, tea.Batch(clockTick(), s.onFrame())
	case rowsMsg:
		a.table.onRows(msg)
		return m, nil
	case jumpMsg:
		s.onJump(msg)
		return m, nil
	case actionMsg:
		return m, s.done(msg)
	case tea.KeyMsg:
		a.invalidate()
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !s.in.IsOpen() {
			// keys that arrived in one packet: one key each, until a
			// prompt opens and takes the rest as text
			var cmds []tea.Cmd
			for i, r := range msg.Runes {
				if s.in.IsOpen() {
					cmds = append(cmds, s.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: msg.Runes[i:]}))
					break
				}
				cmds = append(cmds, s.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
				if s.quitting {
					break
				}
			}
			return m, tea.Batch(cmds...)
		}
		return m, s.key(msg)
	case tea.MouseMsg:
		return m, s.mouse(msg)
	}
	cmd := s.broadcast(msg)
	a.invalidate()
	return m, cmd
}

// onFrame makes coalesced data changes visible.
func (s *router) onFrame() tea.Cmd {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	s.mergeAdded()
	s.a.alerts.refresh()
	s.a.invalidate()
	return s.a.table.onFrame()
}

// mergeAdded merges the tags first seen since the last frame and tells
// the table and the pages.
func (s *router) mergeAdded() {
	if s.a.d.mergeAdded() {
		s.a.table.reset()
		s.broadcast(tagsMsg{})
	}
}

// done handles an action's result: the status line shows it, the alerts
// are re-read (the acted-on alert changes through the feed too), and the
// pages see it.
func (s *router) done(msg actionMsg) tea.Cmd {
	a := s.a
	slog.Debug("tui action", "user", a.opts.User, "what", msg.what, "err", msg.err)
	if msg.err != nil {
		a.setMsg(msg.what+": "+msg.err.Error(), true)
	} else {
		a.setMsg(msg.what, false)
	}
	a.d.resyncAlerts()
	a.alerts.refresh()
	a.invalidate()
	return s.broadcast(msg)
}

// View renders the screen; it is cached between data frames.
func (m Model) View() string {
	s := m.s
	if s.quitting {
		return ""
	}
	if s.a.cacheOK {
		return s.cache
	}
	s.cache = s.render()
	s.a.cacheOK = true
	return s.cache
}
