package workshop

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Entry is one line of the debrief timeline.
type Entry struct {
	Time time.Time
	// Sim is the scenario time of the entry.
	Sim time.Duration
	// Kind is fault, alert, action or note.
	Kind string
	Text string
	// Links point into the recordings of the participants whose session
	// ran at that moment (the actor's first).
	Links []Link
}

// Link is a moment of one participant's recording.
type Link struct {
	User string
	// Path is the recording; Offset the moment into it.
	Path   string
	Offset time.Duration
}

// Outcome is how one expectation of an exercise went.
type Outcome struct {
	Exercise string
	Fault    string
	// Injected is when the fault fired; InjectedSim the scenario time.
	Injected    time.Time
	InjectedSim time.Duration
	Role        string
	Action      string
	// Within is the window, in scenario time.
	Within time.Duration
	Hint   string
	// By is who responded first, Response the scenario time from the
	// injection. Only actions that were carried out count.
	By       string
	Response time.Duration
	// Result is met, late, missed, not reached, or pending while the
	// window is still open (never in a report of an ended workshop: a
	// window open at the end is missed).
	Result string
	// Note says more about the result.
	Note string
}

// RoleSummary is the response times of one role.
type RoleSummary struct {
	Role     string
	Acks     int
	MeanAck  time.Duration
	WorstAck time.Duration
	Refused  int
	Expected int
	Met      int
}

// Report is the debrief of a workshop.
type Report struct {
	Scenario string
	// Started is when the scenario clock first ran (the trainer's "go"),
	// or when the workshop opened if it never ran.
	Started time.Time
	Written time.Time
	// Ended says the workshop was over when the report was made.
	Ended bool
	// Speed is the scenario clock's speed when the report was made.
	Speed        float64
	Participants []Participant
	Timeline     []Entry
	Outcomes     []Outcome
	Roles        []RoleSummary
	Scores       []Score
}

// Debrief builds the report of the workshop so far.
func (w *Workshop) Debrief() Report {
	w.Advance()
	scores := w.Scoreboard()
	parts := w.Participants()
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.markLocked(now)
	start := w.started
	if !w.goAt.IsZero() {
		start = w.goAt
	}
	rep := Report{Scenario: w.sc.Name, Started: start, Written: now, Ended: !w.ended.IsZero(), Speed: w.tw.Status().Speed,
		Participants: parts, Scores: scores}
	entry := func(t time.Time, kind, text, actor string) {
		rep.Timeline = append(rep.Timeline, Entry{Time: t, Sim: w.clock.at(t), Kind: kind, Text: text, Links: links(parts, t, actor)})
	}

	faultTarget := map[string]string{}
	for _, f := range w.sc.Faults {
		faultTarget[f.Name] = f.Target
	}
	for _, e := range w.events {
		switch e.Kind {
		case "inject":
			faultTarget[e.Fault] = firstNonEmpty(faultTarget[e.Fault], e.Target)
			entry(e.Time, "fault", fmt.Sprintf("fault %s injected on %s (%s)", e.Fault, e.Target, e.Origin), "")
		case "clear", "expire":
			entry(e.Time, "fault", fmt.Sprintf("fault %s %sed", e.Fault, strings.TrimSuffix(e.Kind, "e")), "")
		case "note":
			entry(e.Time, "note", e.Message, "")
		case "set", "state":
			entry(e.Time, "note", fmt.Sprintf("%s %s = %v", e.Kind, e.Target, e.Value), "")
		}
	}
	for _, r := range w.alerts {
		for _, t := range r.Raised {
			entry(t, "alert", fmt.Sprintf("alert %s raised: %s", r.ID, r.Message), "")
		}
		for _, t := range r.Cleared {
			entry(t, "alert", fmt.Sprintf("alert %s returned to normal", r.ID), "")
		}
	}
	for _, a := range w.actions {
		text := fmt.Sprintf("%s (%s) %s %s", a.User, a.Role, a.Kind, a.Target)
		if a.Comment != "" {
			text += fmt.Sprintf(" — %q", a.Comment)
		}
		if a.Refused != "" {
			text += " — refused: " + a.Refused
		}
		if a.Failed != "" {
			text += " — not carried out: " + a.Failed
		}
		entry(a.Time, "action", text, a.User)
	}
	sort.SliceStable(rep.Timeline, func(i, j int) bool { return rep.Timeline[i].Time.Before(rep.Timeline[j].Time) })

	roles := map[string]*RoleSummary{}
	role := func(name string) *RoleSummary {
		if roles[name] == nil {
			roles[name] = &RoleSummary{Role: name}
		}
		return roles[name]
	}
	for _, p := range parts {
		role(p.Role)
	}
	for _, a := range w.actions {
		rs := role(a.Role)
		if a.Refused != "" {
			rs.Refused++
			continue
		}
		if a.Kind == "acknowledge" && a.accepted() {
			if d, ok := w.ackTime(a); ok {
				rs.MeanAck = (rs.MeanAck*time.Duration(rs.Acks) + d) / time.Duration(rs.Acks+1)
				if d > rs.WorstAck {
					rs.WorstAck = d
				}
			}
			rs.Acks++
		}
	}
	for _, r := range w.runs {
		for i, st := range r.ex.Steps {
			for _, exp := range st.Expect {
				o := Outcome{Exercise: r.ex.Name, Fault: st.Fault, Injected: r.fired[i], InjectedSim: r.firedSim[i], Role: exp.Role, Action: exp.Action, Within: exp.Within.D(), Hint: exp.Hint}
				rs := role(exp.Role)
				rs.Expected++
				if o.Injected.IsZero() {
					o.Result = "not reached"
					rep.Outcomes = append(rep.Outcomes, o)
					continue
				}
				target := faultTarget[st.Fault]
				for _, a := range w.actions {
					if a.Role != exp.Role || !a.accepted() || !matchesAction(a.Kind, exp.Action) || a.Time.Before(o.Injected) {
						continue
					}
					if a.Kind != "clear" && !relates(w.alertTarget(a), target) {
						continue
					}
					if a.Kind == "clear" && a.Target != st.Fault {
						continue
					}
					o.By, o.Response = a.User, w.clock.span(o.Injected, a.Time)
					break
				}
				open := w.clock.span(o.Injected, now) <= o.Within
				switch {
				case o.By != "" && o.Response <= o.Within:
					o.Result = "met"
					rs.Met++
				case o.By != "":
					o.Result = "late"
				case open && rep.Ended:
					o.Result = "missed"
					o.Note = "window still open when the workshop ended"
				case open:
					o.Result = "pending"
				default:
					o.Result = "missed"
				}
				rep.Outcomes = append(rep.Outcomes, o)
			}
		}
	}
	for _, rs := range roles {
		rep.Roles = append(rep.Roles, *rs)
	}
	sort.Slice(rep.Roles, func(i, j int) bool { return rep.Roles[i].Role < rep.Roles[j].Role })
	return rep
}

// links are the moments at t of the recordings running then, actor's
// first.
func links(parts []Participant, t time.Time, actor string) []Link {
	var out []Link
	for _, p := range parts {
		for _, r := range p.Recordings {
			if !r.covers(t) {
				continue
			}
			l := Link{User: p.User, Path: r.Path, Offset: t.Sub(r.Start)}
			if p.User == actor {
				out = append([]Link{l}, out...)
			} else {
				out = append(out, l)
			}
		}
	}
	return out
}

// RelativeTo rewrites the recordings' paths relative to dir (where the
// report is written), so that its links work wherever the directory is
// moved.
func (r *Report) RelativeTo(dir string) {
	rel := func(p string) string {
		if q, err := filepath.Rel(dir, p); err == nil {
			return filepath.ToSlash(q)
		}
		return p
	}
	for i := range r.Timeline {
		for j := range r.Timeline[i].Links {
			r.Timeline[i].Links[j].Path = rel(r.Timeline[i].Links[j].Path)
		}
	}
	for i := range r.Participants {
		for j := range r.Participants[i].Recordings {
			r.Participants[i].Recordings[j].Path = rel(r.Participants[i].Recordings[j].Path)
		}
	}
}

func matchesAction(kind, want string) bool {
	switch want {
	case "acknowledge":
		return kind == "acknowledge"
	case "comment":
		return kind == "acknowledge" || kind == "shelve" || kind == "comment"
	default:
		return kind == want
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// since formats t relative to the start, e.g. "+02:15" ("-00:40" before
// the go).
func (r *Report) since(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := t.Sub(r.Started).Round(time.Second)
	sign := "+"
	if d < 0 { // before the go of a workshop started paused
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Minutes()), int(d.Seconds())%60)
}

func dur(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.Round(100 * time.Millisecond).String()
}

// clockNote says in which time the report's durations are.
func (r *Report) clockNote() string {
	note := "Windows and response times are in scenario time"
	if r.Speed > 0 && r.Speed != 1 {
		note += fmt.Sprintf(" (the scenario clock ran at %s× when this was written)", strconv.FormatFloat(r.Speed, 'g', 4, 64))
	}
	return note + "; the timeline shows both wall time since the start and scenario time."
}

// simClockText formats scenario time as h:mm:ss.
func simClockText(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60)
}

// offsetText formats a recording offset as m:ss.
func offsetText(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(d/time.Minute), int(d/time.Second)%60)
}

// linkHref is a link to a moment of a recording: the file with the offset
// in seconds as its fragment ("#t=83"), as web players of asciicasts read
// it.
func linkHref(l Link) string {
	return fmt.Sprintf("%s#t=%d", l.Path, int(l.Offset.Seconds()))
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Workshop debrief: %s\n\n", r.Scenario)
	state := "report written"
	if r.Ended {
		state = "ended"
	}
	fmt.Fprintf(&b, "Started %s, %s %s (%s). %s\n\n", r.Started.Format(time.RFC3339), state, r.Written.Format(time.RFC3339), r.Written.Sub(r.Started).Round(time.Second), r.clockNote())
	b.WriteString("## Participants\n\n| user | role | alerts seen | acks | mean time to ack | comments | refused |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Scores {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %d | %d |\n", s.User, s.Role, s.AlertsSeen, s.Acks, dur(s.MeanAck), s.Comments, s.Refused)
	}
	b.WriteString("\n## Expected responses\n\n")
	if len(r.Outcomes) == 0 {
		b.WriteString("No exercise was run.\n")
	} else {
		b.WriteString("| exercise | fault | injected | role | action | within | by | response | result |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, o := range r.Outcomes {
			res := o.Result
			if o.Note != "" {
				res += " (" + o.Note + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", o.Exercise, o.Fault, r.since(o.Injected), o.Role, o.Action, dur(o.Within), firstNonEmpty(o.By, "—"), dur(o.Response), res)
		}
	}
	b.WriteString("\n## Response times per role\n\n| role | acks | mean time to ack | worst | expectations met | refused actions |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, rs := range r.Roles {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d/%d | %d |\n", rs.Role, rs.Acks, dur(rs.MeanAck), dur(rs.WorstAck), rs.Met, rs.Expected, rs.Refused)
	}
	if recs := r.recordings(); len(recs) > 0 {
		b.WriteString("\n## Recordings\n\nEach session's screen, as asciicast v2. Play one with `otwin replay FILE` (or `asciinema play FILE`); `otwin replay --from 83s FILE` starts at the moment a timeline link points to (`#t=83`).\n\n")
		for _, x := range recs {
			fmt.Fprintf(&b, "- %s: [%s](%s), from %s\n", x.user, x.rec.Path, x.rec.Path, r.since(x.rec.Start))
		}
	}
	b.WriteString("\n## Timeline\n\n| time | scenario | what | | recordings |\n| --- | --- | --- | --- | --- |\n")
	for _, e := range r.Timeline {
		var ls []string
		for _, l := range e.Links {
			ls = append(ls, fmt.Sprintf("[%s %s](%s)", l.User, offsetText(l.Offset), linkHref(l)))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.since(e.Time), simClockText(e.Sim), e.Kind, strings.ReplaceAll(e.Text, "|", "\\|"), strings.Join(ls, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// recording is one participant's recording, for the report's list.
type recording struct {
	user string
	rec  Recording
}

func (r *Report) recordings() []recording {
	var out []recording
	for _, p := range r.Participants {
		for _, x := range p.Recordings {
			out = append(out, recording{p.User, x})
		}
	}
	return out
}

var htmlReport = template.Must(template.New("debrief").Funcs(template.FuncMap{
	"dur":    dur,
	"or":     firstNonEmpty,
	"sim":    simClockText,
	"offset": offsetText,
	"href":   linkHref,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workshop debrief: {{.R.Scenario}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;font-size:.95rem}
th{background:#f2f2f2}
.met{color:#1a7f37}.late{color:#9a6700}.missed{color:#cf222e}
.fault{color:#cf222e}.alert{color:#9a6700}.action{color:#0969da}
</style></head><body>
<h1>Workshop debrief: {{.R.Scenario}}</h1>
<p>Started {{.R.Started.Format "2006-01-02 15:04:05"}}, {{if .R.Ended}}ended{{else}}report written{{end}} {{.R.Written.Format "2006-01-02 15:04:05"}}. {{.Note}}</p>
<h2>Participants</h2>
<table><tr><th>user</th><th>role</th><th>alerts seen</th><th>acks</th><th>mean time to ack</th><th>comments</th><th>refused</th></tr>
{{range .R.Scores}}<tr><td>{{.User}}</td><td>{{.Role}}</td><td>{{.AlertsSeen}}</td><td>{{.Acks}}</td><td>{{dur .MeanAck}}</td><td>{{.Comments}}</td><td>{{.Refused}}</td></tr>
{{end}}</table>
<h2>Expected responses</h2>
{{if .R.Outcomes}}<table><tr><th>exercise</th><th>fault</th><th>injected</th><th>role</th><th>action</th><th>within</th><th>by</th><th>response</th><th>result</th></tr>
{{range .R.Outcomes}}<tr><td>{{.Exercise}}</td><td>{{.Fault}}</td><td>{{call $.Since .Injected}}</td><td>{{.Role}}</td><td>{{.Action}}</td><td>{{dur .Within}}</td><td>{{or .By "—"}}</td><td>{{dur .Response}}</td><td class="{{.Result}}">{{.Result}}{{if .Note}} ({{.Note}}){{end}}</td></tr>
{{end}}</table>{{else}}<p>No exercise was run.</p>{{end}}
<h2>Response times per role</h2>
<table><tr><th>role</th><th>acks</th><th>mean time to ack</th><th>worst</th><th>expectations met</th><th>refused actions</th></tr>
{{range .R.Roles}}<tr><td>{{.Role}}</td><td>{{.Acks}}</td><td>{{dur .MeanAck}}</td><td>{{dur .WorstAck}}</td><td>{{.Met}}/{{.Expected}}</td><td>{{.Refused}}</td></tr>
{{end}}</table>
{{with .Recs}}<h2>Recordings</h2>
<p>Each session's screen, as asciicast v2. Play one with <code>otwin replay FILE</code> (or <code>asciinema play FILE</code>); <code>otwin replay --from 83s FILE</code> starts at the moment a timeline link points to (<code>#t=83</code>).</p>
<ul>{{range .}}<li>{{.User}}: <a href="{{.Path}}">{{.Path}}</a></li>
{{end}}</ul>{{end}}
<h2>Timeline</h2>
<table><tr><th>time</th><th>scenario</th><th>what</th><th></th><th>recordings</th></tr>
{{range .R.Timeline}}<tr class="{{.Kind}}"><td>{{call $.Since .Time}}</td><td>{{sim .Sim}}</td><td>{{.Kind}}</td><td>{{.Text}}</td><td>{{range .Links}}<a href="{{href .}}">{{.User}} {{offset .Offset}}</a> {{end}}</td></tr>
{{end}}</table>
</body></html>
`))

// WriteHTML writes the report as a standalone HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	type rec struct{ User, Path string }
	var recs []rec
	for _, x := range r.recordings() {
		recs = append(recs, rec{x.user, x.rec.Path})
	}
	return htmlReport.Execute(w, struct {
		R     *Report
		Since func(time.Time) string
		Note  string
		Recs  []rec
	}{r, r.since, r.clockNote(), recs})
}
