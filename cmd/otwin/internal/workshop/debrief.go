package workshop

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// Entry is one line of the debrief timeline.
type Entry struct {
	Time time.Time
	// Kind is fault, alert, action or note.
	Kind string
	Text string
}

// Outcome is how one expectation of an exercise went.
type Outcome struct {
	Exercise string
	Fault    string
	Injected time.Time
	Role     string
	Action   string
	Within   time.Duration
	Hint     string
	// By is who responded first, Response the time from the injection.
	By       string
	Response time.Duration
	// Result is met, late or missed (or pending while the window is open).
	Result string
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
	Scenario     string
	Started      time.Time
	Written      time.Time
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
	rep := Report{Scenario: w.sc.Name, Started: w.started, Written: now, Participants: parts, Scores: scores}

	faultTarget := map[string]string{}
	for _, f := range w.sc.Faults {
		faultTarget[f.Name] = f.Target
	}
	for _, e := range w.events {
		switch e.Kind {
		case "inject":
			faultTarget[e.Fault] = firstNonEmpty(faultTarget[e.Fault], e.Target)
			rep.Timeline = append(rep.Timeline, Entry{e.Time, "fault", fmt.Sprintf("fault %s injected on %s (%s)", e.Fault, e.Target, e.Origin)})
		case "clear", "expire":
			rep.Timeline = append(rep.Timeline, Entry{e.Time, "fault", fmt.Sprintf("fault %s %sed", e.Fault, strings.TrimSuffix(e.Kind, "e"))})
		case "note":
			rep.Timeline = append(rep.Timeline, Entry{e.Time, "note", e.Message})
		case "set", "state":
			rep.Timeline = append(rep.Timeline, Entry{e.Time, "note", fmt.Sprintf("%s %s = %v", e.Kind, e.Target, e.Value)})
		}
	}
	for _, r := range w.alerts {
		for _, t := range r.Raised {
			rep.Timeline = append(rep.Timeline, Entry{t, "alert", fmt.Sprintf("alert %s raised: %s", r.ID, r.Message)})
		}
		for _, t := range r.Cleared {
			rep.Timeline = append(rep.Timeline, Entry{t, "alert", fmt.Sprintf("alert %s returned to normal", r.ID)})
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
		rep.Timeline = append(rep.Timeline, Entry{a.Time, "action", text})
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
		if a.Kind == "acknowledge" {
			if r := w.alerts[a.Target]; r != nil {
				if raised := lastBefore(r.Raised, a.Time); !raised.IsZero() {
					d := a.Time.Sub(raised)
					rs.MeanAck = (rs.MeanAck*time.Duration(rs.Acks) + d) / time.Duration(rs.Acks+1)
					if d > rs.WorstAck {
						rs.WorstAck = d
					}
				}
			}
			rs.Acks++
		}
	}
	for _, r := range w.runs {
		for i, st := range r.ex.Steps {
			for _, exp := range st.Expect {
				o := Outcome{Exercise: r.ex.Name, Fault: st.Fault, Injected: r.fired[i], Role: exp.Role, Action: exp.Action, Within: exp.Within.D(), Hint: exp.Hint}
				rs := role(exp.Role)
				rs.Expected++
				if o.Injected.IsZero() {
					o.Result = "not reached"
					rep.Outcomes = append(rep.Outcomes, o)
					continue
				}
				target := faultTarget[st.Fault]
				for _, a := range w.actions {
					if a.Role != exp.Role || a.Refused != "" || !matchesAction(a.Kind, exp.Action) || a.Time.Before(o.Injected) {
						continue
					}
					if a.Kind != "clear" && !relates(w.alertTarget(a), target) {
						continue
					}
					if a.Kind == "clear" && a.Target != st.Fault {
						continue
					}
					o.By, o.Response = a.User, a.Time.Sub(o.Injected)
					break
				}
				switch {
				case o.By != "" && o.Response <= o.Within:
					o.Result = "met"
					rs.Met++
				case o.By != "":
					o.Result = "late"
				case now.Sub(o.Injected) <= o.Within:
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

// since formats t relative to the start, e.g. "+02:15".
func (r *Report) since(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := t.Sub(r.Started).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("+%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func dur(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.Round(100 * time.Millisecond).String()
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Workshop debrief: %s\n\n", r.Scenario)
	fmt.Fprintf(&b, "Started %s, report written %s (%s).\n\n", r.Started.Format(time.RFC3339), r.Written.Format(time.RFC3339), r.Written.Sub(r.Started).Round(time.Second))
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
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", o.Exercise, o.Fault, r.since(o.Injected), o.Role, o.Action, dur(o.Within), firstNonEmpty(o.By, "—"), dur(o.Response), o.Result)
		}
	}
	b.WriteString("\n## Response times per role\n\n| role | acks | mean time to ack | worst | expectations met | refused actions |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, rs := range r.Roles {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d/%d | %d |\n", rs.Role, rs.Acks, dur(rs.MeanAck), dur(rs.WorstAck), rs.Met, rs.Expected, rs.Refused)
	}
	b.WriteString("\n## Timeline\n\n| time | what | |\n| --- | --- | --- |\n")
	for _, e := range r.Timeline {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.since(e.Time), e.Kind, strings.ReplaceAll(e.Text, "|", "\\|"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var htmlReport = template.Must(template.New("debrief").Funcs(template.FuncMap{
	"dur": dur,
	"or":  firstNonEmpty,
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
<p>Started {{.R.Started.Format "2006-01-02 15:04:05"}}, report written {{.R.Written.Format "2006-01-02 15:04:05"}}.</p>
<h2>Participants</h2>
<table><tr><th>user</th><th>role</th><th>alerts seen</th><th>acks</th><th>mean time to ack</th><th>comments</th><th>refused</th></tr>
{{range .R.Scores}}<tr><td>{{.User}}</td><td>{{.Role}}</td><td>{{.AlertsSeen}}</td><td>{{.Acks}}</td><td>{{dur .MeanAck}}</td><td>{{.Comments}}</td><td>{{.Refused}}</td></tr>
{{end}}</table>
<h2>Expected responses</h2>
{{if .R.Outcomes}}<table><tr><th>exercise</th><th>fault</th><th>injected</th><th>role</th><th>action</th><th>within</th><th>by</th><th>response</th><th>result</th></tr>
{{range .R.Outcomes}}<tr><td>{{.Exercise}}</td><td>{{.Fault}}</td><td>{{call $.Since .Injected}}</td><td>{{.Role}}</td><td>{{.Action}}</td><td>{{dur .Within}}</td><td>{{or .By "—"}}</td><td>{{dur .Response}}</td><td class="{{.Result}}">{{.Result}}</td></tr>
{{end}}</table>{{else}}<p>No exercise was run.</p>{{end}}
<h2>Response times per role</h2>
<table><tr><th>role</th><th>acks</th><th>mean time to ack</th><th>worst</th><th>expectations met</th><th>refused actions</th></tr>
{{range .R.Roles}}<tr><td>{{.Role}}</td><td>{{.Acks}}</td><td>{{dur .MeanAck}}</td><td>{{dur .WorstAck}}</td><td>{{.Met}}/{{.Expected}}</td><td>{{.Refused}}</td></tr>
{{end}}</table>
<h2>Timeline</h2>
<table><tr><th>time</th><th>what</th><th></th></tr>
{{range .R.Timeline}}<tr class="{{.Kind}}"><td>{{call $.Since .Time}}</td><td>{{.Kind}}</td><td>{{.Text}}</td></tr>
{{end}}</table>
</body></html>
`))

// WriteHTML writes the report as a standalone HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlReport.Execute(w, struct {
		R     *Report
		Since func(time.Time) string
	}{r, r.since})
}
