package mqttpub

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// Throughput benchmarks of the publisher. They run only with -bench; each
// iteration is one second of 100k tags changing once (100k samples/s):
//
//	go test -run '^$' -bench Publish100k -benchtime 15x ./normalize/uns/mqttpub
//
// The embedded broker runs with its default retain interval (and, as
// "retain=every", with every sample retained): a run of fewer seconds
// than two intervals does not reach the steady state, where a fifth of
// the samples are retained.
// The publisher's CPU is the process's (getrusage: the publisher, its
// client library and the pacing loop standing in for the pipeline); the
// broker runs in its own process (mosquitto; the embedded broker in a
// child test process) and its CPU is read from /proc. A run ends when the
// broker has acknowledged every sample. Reported per sample fed: cpu-us
// (the publisher), broker-cpu-us; and publisher-cores, samples/s
// acknowledged (those not dropped), dropped. The anchor is mosquitto_pub sending the same payloads
// (BenchmarkMosquittoPubAnchor).

const benchTags = 100_000

// benchSamples makes n tags over ISA-95 paths of 6 levels, 250 tags per
// machine.
func benchSamples(n int) []normalize.Sample {
	unit, _ := bar, 0
	out := make([]normalize.Sample, n)
	for i := range out {
		asset := fmt.Sprintf("acme/site1/area%d/line%02d/cell1/m%03d", i/25000, i/5000%20, i/250%20)
		tag := fmt.Sprintf("t%03d", i%250)
		out[i] = normalize.Sample{ID: asset + "/" + tag, Asset: asset, Tag: tag, Unit: unit, Source: "big0"}
	}
	return out
}

// TestBrokerChild is the embedded broker of the benchmarks in a process of
// its own; it runs only when the benchmark starts it.
func TestBrokerChild(t *testing.T) {
	if os.Getenv("OTWIN_BROKER_CHILD") == "" {
		t.Skip("started by the benchmarks only")
	}
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fmt.Println("URL", b.URL())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
}

// brokerProfileEnv names a file for the CPU profile of the embedded broker
// child of the benchmarks (go tool pprof reads it).
const brokerProfileEnv = "OTWIN_BROKER_CPUPROFILE"

type childBroker struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

func startChildBroker(b *testing.B) *childBroker {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerChild$", "-test.v")
	if f := os.Getenv(brokerProfileEnv); f != "" {
		cmd.Args = append(cmd.Args, "-test.cpuprofile", f)
	}
	cmd.Env = append(os.Environ(), "OTWIN_BROKER_CHILD=1")
	in, err := cmd.StdinPipe()
	must(b, err)
	out, err := cmd.StdoutPipe()
	must(b, err)
	must(b, cmd.Start())
	c := &childBroker{cmd: cmd, stdin: in}
	b.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
			c.url = u
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return c
		}
	}
	b.Fatal("the broker child did not start")
	return nil
}

// procCPU returns the CPU time of process pid (user + system).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkPublish100k(b *testing.B) {
	for _, qos := range []byte{1, 0} {
		b.Run(fmt.Sprintf("qos=%d/broker=mosquitto", qos), func(b *testing.B) {
			m := mqtttest.StartMosquitto(b)
			benchPublish(b, m.URL(), m.Pid(), qos, 0)
		})
		b.Run(fmt.Sprintf("qos=%d/broker=embedded", qos), func(b *testing.B) {
			c := startChildBroker(b)
			benchPublish(b, c.url, c.cmd.Process.Pid, qos, EmbeddedRetainInterval)
		})
		b.Run(fmt.Sprintf("qos=%d/broker=embedded,retain=every", qos), func(b *testing.B) {
			c := startChildBroker(b)
			benchPublish(b, c.url, c.cmd.Process.Pid, qos, 0)
		})
		b.Run(fmt.Sprintf("qos=%d/broker=embedded-in-process", qos), func(b *testing.B) {
			e := startEmbedded(b, broker.Config{})
			benchPublish(b, e.URL(), 0, qos, EmbeddedRetainInterval)
		})
	}
}

// benchPublish feeds b.N seconds of benchSamples to a publisher of broker
// url (retain: Config.RetainInterval).
func benchPublish(b *testing.B, url string, brokerPid int, qos byte, retain time.Duration) {
	samples := benchSamples(benchTags)
	p, err := New(Config{Broker: url, Node: "bench", ClientID: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Buffer: MaxBuffer, QoS: qos, QoSSet: true, RetainInterval: retain})
	must(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(b, p.Start(ctx))
	defer p.Close()
	// One round unmeasured: the broker creates its 100k retained topics.
	feedSecond(p, samples, 1, time.Now())
	waitAcked(b, p, 120*time.Second)

	cpu0, bcpu0, start, dropped0 := selfCPU(), procCPU(brokerPid), time.Now(), p.Stats().Dropped
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		feedSecond(p, samples, uint64(i+2), start.Add(time.Duration(i)*time.Second))
	}
	fed := time.Since(start)
	waitAcked(b, p, 300*time.Second)
	b.StopTimer()
	elapsed := time.Since(start)
	cpu, bcpu := selfCPU()-cpu0, procCPU(brokerPid)-bcpu0
	n := float64(b.N * benchTags)
	st := p.Stats()
	dropped := float64(st.Dropped - dropped0)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-us/sample")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "publisher-cores")
	if brokerPid != 0 {
		b.ReportMetric(float64(bcpu.Microseconds())/n, "broker-cpu-us/sample")
	}
	b.ReportMetric((n-dropped)/elapsed.Seconds(), "acked-samples/s")
	b.ReportMetric(dropped, "dropped")
	b.Logf("%d samples fed in %s, all acknowledged after %s; stats %+v", int(n), fed.Round(time.Millisecond), elapsed.Round(time.Millisecond), st)
}

// feedSecond hands every tag's next sample over in 100 slices of 10ms from
// at (waiting for the slice's time; late slices go at once).
func feedSecond(p *Publisher, samples []normalize.Sample, seq uint64, at time.Time) {
	const slices = 100
	per := len(samples) / slices
	for k := 0; k < slices; k++ {
		if d := time.Until(at.Add(time.Duration(k) * 10 * time.Millisecond)); d > 0 {
			<-time.After(d)
		}
		now := time.Now()
		for i := k * per; i < (k+1)*per; i++ {
			s := &samples[i]
			s.Seq, s.Value, s.Status = seq, float64(seq)+float64(i)/1000, 0
			s.SourceTime, s.ServerTime, s.Received = now, now, now
			p.Sample(s)
		}
	}
}

// waitAcked waits until every sample handed over is published and
// acknowledged.
func waitAcked(b *testing.B, p *Publisher, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		st := p.Stats()
		if len(p.in) == 0 && st.Buffered == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("not acknowledged within %s: %+v", within, st)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// BenchmarkMosquittoPubAnchor: mosquitto_pub (Debian's mosquitto-clients,
// C) sends 100k retained QoS 1 messages of the publisher's payload size
// to mosquitto, one per line of its input: its CPU per message is the
// anchor of cpu-us/sample above.
func BenchmarkMosquittoPubAnchor(b *testing.B) {
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		b.Skip("mosquitto_pub not installed (Debian package mosquitto-clients)")
	}
	m := mqtttest.StartMosquitto(b)
	s := benchSamples(1)[0]
	s.SourceTime, s.ServerTime, s.Received, s.Seq, s.Value = t0, t0, t0, 123456, 21.534
	line := uns.AppendSample(nil, "edge1", &s)
	var input strings.Builder
	for i := 0; i < benchTags; i++ {
		input.Write(line)
		input.WriteByte('\n')
	}
	b.ResetTimer()
	var cpu time.Duration
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strings.TrimPrefix(m.Addr(), "127.0.0.1:"),
			"-q", "1", "-r", "-t", "acme/site1/area0/line00/cell1/m000/t000", "-l")
		cmd.Stdin = strings.NewReader(input.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	elapsed := time.Since(start)
	n := float64(b.N * benchTags)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-us/msg")
	b.ReportMetric(n/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(len(line)), "payload-bytes")
}

// BenchmarkLatency10k: 10k tags change once a second (fed in 100 slices
// of 10ms, each sample's source time the moment it is handed over);
// mosquitto_sub (QoS 0, a process of its own) receives them through the
// broker. Latency = arrival - source time, the publisher's and the
// broker's share of the end-to-end path (the twin and connector side is
// BenchmarkE2EMQTTLatency10k in cmd/otwin). Each iteration is one second.
func BenchmarkLatency10k(b *testing.B) {
	b.Run("broker=mosquitto", func(b *testing.B) {
		m := mqtttest.StartMosquitto(b)
		benchLatency(b, m.URL())
	})
	b.Run("broker=embedded", func(b *testing.B) {
		c := startChildBroker(b)
		benchLatency(b, c.url)
	})
}

func benchLatency(b *testing.B, url string) {
	const tags = 10_000
	samples := benchSamples(tags)
	var (
		mu      sync.Mutex
		lats    []time.Duration
		collect bool
		seen    int
	)
	mqtttest.MosquittoSub(b, url, "acme/#", func(m mqtttest.Message) {
		src := mqtttest.JSONTime(m.Payload, "source_time")
		if src.IsZero() {
			return
		}
		mu.Lock()
		seen++
		if collect {
			lats = append(lats, m.At.Sub(src))
		}
		mu.Unlock()
	})
	p, err := New(Config{Broker: url, Node: "bench", ClientID: fmt.Sprintf("bench-%d", time.Now().UnixNano())})
	must(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(b, p.Start(ctx))
	defer p.Close()
	feedSecond(p, samples, 1, time.Now()) // the broker creates the topics
	testkit.Eventually(b, 60*time.Second, "the first round at the subscriber", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen >= tags
	})
	mu.Lock()
	collect = true
	mu.Unlock()
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		feedSecond(p, samples, uint64(i+2), start.Add(time.Duration(i)*time.Second))
	}
	want := b.N * tags
	testkit.Eventually(b, 60*time.Second, "every sample at the subscriber", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lats) >= want
	})
	b.StopTimer()
	mu.Lock()
	got := slices.Clone(lats)
	mu.Unlock()
	mqtttest.ReportLatency(b, "", got)
	b.ReportMetric(float64(p.Stats().Dropped), "dropped")
}
