//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
)

// BenchmarkScale runs a line as a user does: `otwin sim --export-sources`
// and `otwin watch --headless` on the exported file, two processes of the
// real binary (built by the benchmark), on this machine. The line is
// machines × 100 tags, every tag changing every 1 s tick (sine with
// noise, noise, random walk; engineering ranges, so spikes are judged;
// the exported frozen rules on the noisy tags). It reports:
//
//	all-good-s        from the start of watch until every tag has been Good
//	offered/s         changes the twin makes a second (tags / tick)
//	delivered/s       Good samples on watch's output a second, after all
//	                  Good and a settling time, over the measuring window
//	delivered-%       delivered/s against offered/s
//	false-alerts      data-quality alerts raised in the whole run (no fault
//	                  is injected)
//	behind-alerts     collector_behind alerts: the collector saying it fell
//	                  behind (not false, but a sign the machine was short)
//	sim-, watch-MB    resident memory, mean over the window (watch counts its
//	                  connector processes); *-peak-MB the highest sampled
//	sim-, watch-cpu-% CPU over the window (100 = one core)
//	cpu-us/change     CPU of both over the window per change delivered
//	load              the load average (1 min) at the end of the window
//	ticks-unseen      ticks of the window that no tag of a machine got, over
//	                  three machines (the first, a middle and the last one,
//	                  in different subscriptions): changes the server never
//	                  served (the twin ran late and caught up, or sampled
//	                  late), not lost on the way; the log also counts the
//	                  values single tags missed
//
// Both sizes take minutes: run with -benchtime=1x, e.g.
//
//	go test ./cmd/otwin -run '^$' -bench Scale -benchtime 1x -timeout 30m
//
// OTWIN_SCALE_WINDOW sets the measuring window (default 30s).
func BenchmarkScale(b *testing.B) {
	bin := buildDemoBinary(b, b.TempDir())
	for _, machines := range []int{100, 1000} {
		b.Run(fmt.Sprintf("tags=%dk", machines/10), func(b *testing.B) {
			for b.Loop() {
				runScale(b, bin, machines, 100)
			}
		})
	}
}

// scaleScenario is a line of machines × tags float tags, every one
// changing every 1 s tick, on one OPC UA endpoint; machines hang 20 to a
// line (no folder holds more than a few hundred children).
func scaleScenario(machines, tags int) string {
	var sb strings.Builder
	sb.WriteString("name: scale\ntick: 1s\nopcua: {security: [none]}\nlocation: {enterprise: acme, site: scale, area: a}\n")
	sb.WriteString("templates:\n  Machine:\n    tags:\n")
	for j := 0; j < tags; j++ {
		base := 100 + j
		fmt.Fprintf(&sb, "      - {name: t%03d, unit: degC, range: {low: 0, high: %d}, model: ", j, 2*base)
		switch j % 3 {
		case 0:
			fmt.Fprintf(&sb, "{sine: {offset: %d, amplitude: 10, period: %ds}, noise: {stddev: 0.5}}}\n", base, 20+j%40)
		case 1:
			fmt.Fprintf(&sb, "{noise: {mean: %d, stddev: 1}}}\n", base)
		default:
			fmt.Fprintf(&sb, "{random_walk: {start: %d, step: 1, min: %d, max: %d}}}\n", base, base/2, base*3/2)
		}
	}
	sb.WriteString("machines:\n")
	for i := 0; i < machines; i++ {
		fmt.Fprintf(&sb, "  - {name: m%04d, template: Machine, location: {line: l%02d}, opcua: {port: 4920}}\n", i, i/20)
	}
	return sb.String()
}

// scaleResult is what one run measured.
type scaleResult struct {
	tags                  int
	simReady, allGood     time.Duration
	offered, delivered    float64
	alerts                map[string]int // raised, by kind
	alertSamples          []string
	simRSS, watchRSS      float64 // MB, mean over the window
	simPeak, watchPeak    float64 // MB, highest sampled
	simCPU, watchCPU      float64 // % of one core over the window
	cpuPerChange          float64 // µs
	load0, load1          float64
	watchProcs            int
	notGood, otherSamples int64
	// Of the tags of three machines over the window, summed over the
	// machines: the ticks (source times) some tag of the machine got, the
	// ticks none got although the window should hold them, and the values
	// single tags missed of ticks others of their machine got.
	ticksSeen, ticksNone, tagMisses int
}

func runScale(b *testing.B, bin string, machines, tags int) {
	dir := b.TempDir()
	scPath := filepath.Join(dir, "scale.yaml")
	if err := os.WriteFile(scPath, []byte(scaleScenario(machines, tags)), 0o600); err != nil {
		b.Fatal(err)
	}
	window := 30 * time.Second
	if v := os.Getenv("OTWIN_SCALE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("OTWIN_SCALE_WINDOW: %v", err)
		}
		window = d
	}
	r := scaleResult{tags: machines * tags, offered: float64(machines * tags), alerts: map[string]int{}}
	r.load0 = loadAverage()
	ready, export := filepath.Join(dir, "twin.json"), filepath.Join(dir, "sources.yaml")
	start := time.Now()
	sim := startBenchProc(b, bin, "sim", scPath, "--ephemeral", "--control", "-", "--ready-file", ready,
		"--export-sources", export, "--data-dir", filepath.Join(dir, "sim"), "--log-level", "warn")
	var rf readyFile
	waitUntil(b, 5*time.Minute, "the sim's ready file", func() bool {
		data, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(data, &rf) == nil
	})
	r.simReady = time.Since(start)

	watchStart := time.Now()
	watch := startBenchProc(b, bin, "watch", export, "--headless", "--data-dir", filepath.Join(dir, "watch"), "--log-level", "warn")
	st := newStreamStats(r.tags)
	go st.read(watch.stdout)
	mem := newMemSampler(sim.cmd.Process.Pid, watch.cmd.Process.Pid)
	defer mem.stop()
	if !pollUntil(5*time.Minute, func() bool { return st.allGood() }) {
		b.Fatalf("%d of %d tags Good after 5 minutes; watch log:\n%s", st.goodTags(), r.tags, watch.stderr.tail(30))
	}
	r.allGood = time.Since(watchStart)
	// Let the start's backlog drain before measuring.
	settle := 10 * time.Second
	pollUntil(settle, func() bool { return false })
	mem.reset()
	// The first, a middle and the last machine: in the first, the middle
	// and the last of the connector's subscriptions.
	st.track(fmt.Sprintf("acme/scale/a/l00/m%04d/", 0), fmt.Sprintf("acme/scale/a/l%02d/m%04d/", machines/2/20, machines/2), fmt.Sprintf("acme/scale/a/l%02d/m%04d/", (machines-1)/20, machines-1))
	c0, cpu0, t0 := st.good(), cpuTimes(sim.cmd.Process.Pid, watch.cmd.Process.Pid), time.Now()
	pollUntil(window, func() bool { return false })
	c1, cpu1, el := st.good(), cpuTimes(sim.cmd.Process.Pid, watch.cmd.Process.Pid), time.Since(t0)
	r.ticksSeen, r.tagMisses = st.untrack()
	r.ticksNone = max(0, 3*int(el/time.Second)-r.ticksSeen)
	r.load1 = loadAverage()
	r.delivered = float64(c1-c0) / el.Seconds()
	r.simCPU = 100 * (cpu1[0] - cpu0[0]) / el.Seconds()
	r.watchCPU = 100 * (cpu1[1] - cpu0[1]) / el.Seconds()
	if c1 > c0 {
		r.cpuPerChange = 1e6 * (cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1]) / float64(c1-c0)
	}
	m := mem.result()
	r.simRSS, r.watchRSS, r.simPeak, r.watchPeak, r.watchProcs = m.mean[0], m.mean[1], m.peak[0], m.peak[1], m.procs
	r.alerts, r.alertSamples = st.raised()
	r.notGood, r.otherSamples = st.counts()
	report(b, &r)
	watch.stop(syscall.SIGINT)
	sim.stop(syscall.SIGTERM)
}

// report writes r as the benchmark's metrics and a table in its log.
func report(b *testing.B, r *scaleResult) {
	// collector_behind speaks of the collector, not of a device: true
	// whenever it raises, so no false alert, but counted apart.
	alerts, behind := 0, r.alerts[string(normalize.AlertCollectorBehind)]
	var kinds []string
	for k, n := range r.alerts {
		if k != string(normalize.AlertCollectorBehind) {
			alerts += n
		}
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	pct := 100 * r.delivered / r.offered
	b.ReportMetric(r.allGood.Seconds(), "all-good-s")
	b.ReportMetric(r.offered, "offered/s")
	b.ReportMetric(r.delivered, "delivered/s")
	b.ReportMetric(pct, "delivered-%")
	b.ReportMetric(float64(alerts), "false-alerts")
	b.ReportMetric(float64(behind), "behind-alerts")
	b.ReportMetric(r.simRSS, "sim-MB")
	b.ReportMetric(r.watchRSS, "watch-MB")
	b.ReportMetric(r.simPeak+r.watchPeak, "peak-MB")
	b.ReportMetric(r.simCPU, "sim-cpu-%")
	b.ReportMetric(r.watchCPU, "watch-cpu-%")
	b.ReportMetric(r.cpuPerChange, "cpu-us/change")
	b.ReportMetric(r.load1, "load")
	b.ReportMetric(float64(r.ticksNone), "ticks-unseen")
	b.Logf(`%d tags, tick 1s, this machine (%d cores, load %.1f at the start, %.1f at the end):
  sim ready (with --export-sources)  %v
  all Good, from watch's start       %v
  changes offered / delivered        %.0f/s / %.0f/s (%.2f%%); not Good samples %d, other %d
  alerts raised (no fault injected)  %d data-quality, %d collector_behind: %v %v
  RSS mean (peak)                    sim %.0f MB (%.0f), watch %.0f MB (%.0f; %d processes), together %.0f MB (%.0f)
  CPU                                sim %.0f%%, watch %.0f%% of a core; %.2f µs a change
  ticks of 3 machines' tags          %d seen, %d seen by none of a machine's tags, %d values single tags missed`,
		r.tags, runtime.NumCPU(), r.load0, r.load1, r.simReady.Round(10*time.Millisecond), r.allGood.Round(10*time.Millisecond),
		r.offered, r.delivered, pct, r.notGood, r.otherSamples, alerts, behind, kinds, r.alertSamples,
		r.simRSS, r.simPeak, r.watchRSS, r.watchPeak, r.watchProcs, r.simRSS+r.watchRSS, r.simPeak+r.watchPeak,
		r.simCPU, r.watchCPU, r.cpuPerChange, r.ticksSeen, r.ticksNone, r.tagMisses)
}

// benchProc is a running otwin command whose stdout the caller reads.
type benchProc struct {
	cmd    *exec.Cmd
	stdout io.Reader
	stderr *tailBuffer
	done   chan struct{}
	err    error
}

// startBenchProc runs bin with args, its stdout left to the caller; it is
// killed when the benchmark ends.
func startBenchProc(b *testing.B, bin string, args ...string) *benchProc {
	b.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	p := &benchProc{cmd: cmd, stdout: out, stderr: &tailBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stop sends sig and waits up to 10s for the process to exit.
func (p *benchProc) stop(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
	part  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(t.part[:i]))
		t.part = t.part[i+1:]
		if len(t.lines) > 200 {
			t.lines = t.lines[len(t.lines)-100:]
		}
	}
	return len(p), nil
}

func (t *tailBuffer) tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines[max(0, len(t.lines)-n):], "\n")
}

// streamStats reads watch's JSON lines: Good samples, tags ever Good, the
// alerts raised. It parses only what it needs, to keep up with 100k lines
// a second on a loaded machine.
type streamStats struct {
	mu       sync.Mutex
	want     int
	goodSeen map[string]bool
	nGood    int64 // Good samples
	nNotGood int64
	nOther   int64
	alerts   map[string]int
	examples []string
	// prefixes, while set, select the tags whose source times are kept
	// (times: machine -> tag id -> source times to the tenth of a
	// second).
	prefixes []string
	times    map[string]map[string]map[string]bool
}

// track starts keeping the source times of the tags of the machines
// whose asset paths (with a trailing /) are prefixes.
func (s *streamStats) track(prefixes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefixes, s.times = prefixes, map[string]map[string]map[string]bool{}
}

// untrack stops keeping source times and returns, summed over the
// machines, the distinct ones seen (the twin's ticks that reached the
// output for some tag of the machine) and the ticks a tag lacks that
// another tag of its machine got.
func (s *streamStats) untrack() (ticks, misses int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tags := range s.times {
		all := map[string]bool{}
		for _, ts := range tags {
			for t := range ts {
				all[t] = true
			}
		}
		ticks += len(all)
		for _, ts := range tags {
			misses += len(all) - len(ts)
		}
	}
	s.prefixes, s.times = nil, nil
	return ticks, misses
}

func newStreamStats(want int) *streamStats {
	return &streamStats{want: want, goodSeen: make(map[string]bool, want), alerts: map[string]int{}}
}

var (
	sourceTime   = []byte(`"source_time":"`)
	sampleGood   = []byte(`{"type":"sample",`)
	qualityGood  = []byte(`"quality":"Good"`)
	alertPrefix  = []byte(`{"type":"alert",`)
	idField      = []byte(`"id":"`)
	raisedMarker = []byte(`"transition":"raised"`)
)

func (s *streamStats) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s.line(line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

func (s *streamStats) line(l []byte) {
	switch {
	case bytes.HasPrefix(l, sampleGood):
		good := bytes.Contains(l, qualityGood)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !good {
			s.nNotGood++
			return
		}
		s.nGood++
		var id []byte
		if i := bytes.Index(l, idField); i >= 0 {
			rest := l[i+len(idField):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				id = rest[:j]
			}
		}
		if len(s.goodSeen) < s.want && id != nil && !s.goodSeen[string(id)] {
			s.goodSeen[string(id)] = true
		}
		for _, p := range s.prefixes {
			if !bytes.HasPrefix(id, []byte(p)) {
				continue
			}
			// "2026-12-07T00:19:47.9": the tick, to a tenth of a second.
			if i := bytes.Index(l, sourceTime); i >= 0 && len(l) >= i+len(sourceTime)+21 {
				if s.times[p] == nil {
					s.times[p] = map[string]map[string]bool{}
				}
				ts := s.times[p][string(id)]
				if ts == nil {
					ts = map[string]bool{}
					s.times[p][string(id)] = ts
				}
				ts[string(l[i+len(sourceTime):i+len(sourceTime)+21])] = true
			}
		}
	case bytes.HasPrefix(l, alertPrefix):
		if !bytes.Contains(l, raisedMarker) {
			return
		}
		var a struct{ ID, Kind, Message string }
		_ = json.Unmarshal(l, &a)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.alerts[a.Kind]++
		if len(s.examples) < 5 {
			s.examples = append(s.examples, a.ID+": "+a.Message)
		}
	default:
		s.mu.Lock()
		s.nOther++
		s.mu.Unlock()
	}
}

func (s *streamStats) allGood() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.goodSeen) >= s.want
}
func (s *streamStats) goodTags() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.goodSeen) }
func (s *streamStats) good() int64   { s.mu.Lock(); defer s.mu.Unlock(); return s.nGood }
func (s *streamStats) counts() (int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nNotGood, s.nOther
}

func (s *streamStats) raised() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.alerts {
		out[k] = v
	}
	return out, append([]string(nil), s.examples...)
}

// memSampler samples the resident memory of the sim and of the watch with
// its child processes every second.
type memSampler struct {
	mu      sync.Mutex
	pids    [2]int
	sum     [2]float64
	n       int
	peak    [2]float64
	procs   int
	stopped chan struct{}
	once    sync.Once
}

type memResult struct {
	mean, peak [2]float64
	procs      int
}

func newMemSampler(sim, watch int) *memSampler {
	m := &memSampler{pids: [2]int{sim, watch}, stopped: make(chan struct{})}
	go m.run()
	return m
}

func (m *memSampler) run() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		m.sample()
		select {
		case <-m.stopped:
			return
		case <-t.C:
		}
	}
}

func (m *memSampler) sample() {
	var v [2]float64
	procs := 0
	for i, pid := range m.pids {
		for _, p := range append([]int{pid}, childPIDs(pid)...) {
			v[i] += rssMB(p)
			if i == 1 {
				procs++
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range v {
		m.sum[i] += v[i]
		m.peak[i] = max(m.peak[i], v[i])
	}
	m.n++
	m.procs = max(m.procs, procs)
}

// reset starts the means afresh (peaks stay).
func (m *memSampler) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sum, m.n = [2]float64{}, 0
}

func (m *memSampler) result() memResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := memResult{peak: m.peak, procs: m.procs}
	for i := range r.mean {
		if m.n > 0 {
			r.mean[i] = m.sum[i] / float64(m.n)
		}
	}
	return r
}

func (m *memSampler) stop() { m.once.Do(func() { close(m.stopped) }) }

// rssMB is the resident memory of pid in MB (0 when it is gone).
func rssMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// childPIDs are the children of pid (each listed by the thread that
// started it).
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// cpuTimes are the CPU seconds (user + system) of the sim and of the
// watch with its children, living and reaped.
func cpuTimes(sim, watch int) [2]float64 {
	var out [2]float64
	for i, pid := range []int{sim, watch} {
		out[i] = procCPU(pid, true)
		for _, c := range childPIDs(pid) {
			out[i] += procCPU(c, false)
		}
	}
	return out
}

// procCPU is pid's CPU seconds from /proc/<pid>/stat; with reaped, those
// of its children that ended too.
func procCPU(pid int, reaped bool) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	// utime, stime, cutime, cstime are fields 14-17 (1-based), 12-15 here.
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	n := 2
	if reaped {
		n = 4
	}
	for _, s := range f[11 : 11+n] {
		v, _ := strconv.ParseFloat(s, 64)
		ticks += v
	}
	return ticks / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// loadAverage is the 1-minute load average.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return v
}
