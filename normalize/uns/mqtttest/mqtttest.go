// Package mqtttest gives tests real MQTT peers: Debian's mosquitto broker
// started on 127.0.0.1 with a generated configuration (tests skip when it
// is not installed; .ci/run installs it), an MQTT subscriber that records
// what it receives, and a certificate authority with server and client
// certificates for TLS tests.
package mqtttest

import (
	"bufio"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Mosquitto is a mosquitto broker run by a test.
type Mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	conf string
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// MosquittoPath returns the mosquitto binary, or "" when it is not
// installed.
func MosquittoPath() string {
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// StartMosquitto starts mosquitto on 127.0.0.1 at a free port with
// persistence in a temporary directory (retained messages and persistent
// sessions survive Restart), unlimited queues for persistent sessions,
// and the extra configuration lines given (e.g. "allow_anonymous false",
// "password_file …", TLS settings). It skips the test when mosquitto is
// not installed and stops the broker at the end of the test.
func StartMosquitto(t testing.TB, extra ...string) *Mosquitto {
	t.Helper()
	bin := MosquittoPath()
	if bin == "" {
		t.Skip("mosquitto not installed (Debian package mosquitto; .ci/run installs it)")
	}
	m := &Mosquitto{t: t, bin: bin, dir: t.TempDir()}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		m.port = freePort(t)
		m.writeConf(extra)
		if err = m.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	t.Cleanup(m.Stop)
	return m
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (m *Mosquitto) writeConf(extra []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", m.port)
	anonymous := true
	for _, l := range extra {
		if strings.HasPrefix(strings.TrimSpace(l), "allow_anonymous") {
			anonymous = false
		}
	}
	if anonymous {
		b.WriteString("allow_anonymous true\n")
	}
	if os.Geteuid() == 0 {
		// As root, mosquitto switches to the user mosquitto, who cannot
		// write its persistence and log into the test's directory.
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 0\n", m.dir)
	b.WriteString("max_queued_messages 0\nmax_inflight_messages 0\n")
	fmt.Fprintf(&b, "log_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\n", filepath.Join(m.dir, "mosquitto.log"))
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	m.conf = filepath.Join(m.dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(b.String()), 0o600); err != nil {
		m.t.Fatal(err)
	}
}

// start runs mosquitto and waits until its port accepts connections.
func (m *Mosquitto) start() error {
	cmd := exec.Command(m.bin, "-c", m.conf)
	out, err := os.OpenFile(filepath.Join(m.dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("exited at start: %s", m.Log())
		default:
		}
		if c, err := net.DialTimeout("tcp", m.Addr(), 200*time.Millisecond); err == nil {
			c.Close()
			m.mu.Lock()
			m.cmd, m.done = cmd, done
			m.mu.Unlock()
			return nil
		}
		select {
		case <-done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("not listening on %s within 10s: %s", m.Addr(), m.Log())
}

// Addr returns host:port.
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// URL returns "mqtt://127.0.0.1:port" (the scheme given, if any).
func (m *Mosquitto) URL(scheme ...string) string {
	s := "mqtt"
	if len(scheme) > 0 {
		s = scheme[0]
	}
	return s + "://" + m.Addr()
}

// Dir is the broker's directory (configuration, log, persistence).
func (m *Mosquitto) Dir() string { return m.dir }

// Log returns the broker's log (and what it wrote on standard error).
func (m *Mosquitto) Log() string {
	a, _ := os.ReadFile(filepath.Join(m.dir, "stderr.log"))
	b, _ := os.ReadFile(filepath.Join(m.dir, "mosquitto.log"))
	return string(a) + string(b)
}

// Pid returns the broker's process id (0 when stopped).
func (m *Mosquitto) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Stop stops the broker with SIGTERM (it saves its persistence) and waits.
func (m *Mosquitto) Stop() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the broker and starts it again on the same port.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	var err error
	for attempt := 0; attempt < 50; attempt++ { // the port may linger briefly
		if err = m.start(); err == nil {
			return
		}
	}
	m.t.Fatalf("mosquitto restart: %v", err)
}

// Message is one message a Subscriber received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	QoS      byte
	At       time.Time
}

// Subscriber is an MQTT client that records every message it receives.
type Subscriber struct {
	Client mqtt.Client
	mu     sync.Mutex
	msgs   []Message
	// OnMessage, when set before Subscribe, is called for every message
	// (from the client's goroutine).
	OnMessage func(Message)
}

// Subscribe connects a client to broker (clean is the MQTT clean session
// flag; id "" picks one) and subscribes to filters at qos. The client is
// disconnected at the end of the test.
func Subscribe(t testing.TB, broker, id string, clean bool, qos byte, filters ...string) *Subscriber {
	t.Helper()
	s := &Subscriber{}
	s.Connect(t, broker, id, clean, qos, nil, filters...)
	return s
}

// Connect connects s with extra options (may be nil) and subscribes.
func (s *Subscriber) Connect(t testing.TB, broker, id string, clean bool, qos byte, extra func(*mqtt.ClientOptions), filters ...string) {
	t.Helper()
	if id == "" {
		id = fmt.Sprintf("test-sub-%d", time.Now().UnixNano())
	}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(clean).
		SetProtocolVersion(4).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetOrderMatters(true).SetResumeSubs(true)
	subs := make(map[string]byte, len(filters))
	for _, f := range filters {
		subs[f] = qos
	}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		msg := Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained(), QoS: m.Qos(), At: time.Now()}
		if s.OnMessage != nil {
			s.OnMessage(msg)
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		s.mu.Unlock()
	}
	o.SetDefaultPublishHandler(handler)
	o.SetOnConnectHandler(func(c mqtt.Client) {
		if len(subs) > 0 {
			c.SubscribeMultiple(subs, handler).WaitTimeout(5 * time.Second)
		}
	})
	if extra != nil {
		extra(o)
	}
	s.Client = mqtt.NewClient(o)
	tok := s.Client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber %s to %s: %v", id, broker, tok.Error())
	}
	// The subscription is made by the connect handler: wait for it to
	// take effect (a retained message or a round trip).
	ping := s.Client.Subscribe("mqtttest/ping/"+id, 0, nil)
	ping.WaitTimeout(5 * time.Second)
	t.Cleanup(func() { s.Client.Disconnect(100) })
}

// Messages returns a copy of what was received so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages satisfy f.
func (s *Subscriber) Count(f func(Message) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if f(m) {
			n++
		}
	}
	return n
}

// Last returns the last message on topic.
func (s *Subscriber) Last(topic string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].Topic == topic {
			return s.msgs[i], true
		}
	}
	return Message{}, false
}

// RunMosquittoPasswd writes a mosquitto password file at path with one
// user (mosquitto_passwd, from the mosquitto package).
func RunMosquittoPasswd(path, user, pass string) error {
	out, err := exec.Command("mosquitto_passwd", "-b", "-c", path, user, pass).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// MosquittoSub runs mosquitto_sub (Debian's mosquitto-clients) on broker
// (an mqtt:// URL), subscribed to filter at QoS 0, in a process of its
// own: a subscriber that is not ours and does not share this process's
// CPU. It returns once the subscription is in place (a probe message went
// through). Every message is passed to f (from one goroutine) with the
// time mosquitto_sub received it (its %U). It skips the test when
// mosquitto_sub is not installed and stops at the end of the test.
func MosquittoSub(t testing.TB, broker, filter string, f func(Message)) {
	t.Helper()
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		t.Skip("mosquitto_sub not installed (Debian package mosquitto-clients)")
	}
	host, port, err := net.SplitHostPort(strings.TrimPrefix(broker, "mqtt://"))
	if err != nil {
		t.Fatalf("broker %q: %v", broker, err)
	}
	id := fmt.Sprintf("sub-%d", time.Now().UnixNano())
	probe := "mqtttest/probe/" + id
	cmd := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-t", filter, "-t", probe, "-q", "0", "-F", "%U %t %p", "-i", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, ready := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		probed := false
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), " ", 3)
			if len(parts) != 3 {
				continue
			}
			if parts[1] == probe {
				if !probed {
					probed = true
					close(ready)
				}
				continue
			}
			sec, frac, _ := strings.Cut(parts[0], ".")
			s, err1 := strconv.ParseInt(sec, 10, 64)
			ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			f(Message{Topic: parts[1], Payload: []byte(parts[2]), At: time.Unix(s, ns)})
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id + "-probe"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("probe publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	deadline := time.Now().Add(30 * time.Second)
	for {
		pub.Publish(probe, 0, false, "probe")
		select {
		case <-ready:
			return
		case <-done:
			t.Fatal("mosquitto_sub exited")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("mosquitto_sub not subscribed within 30s")
		}
	}
}

// ReportLatency reports the p50, p99 and maximum of lats (which it sorts)
// in milliseconds, as "<prefix>p50-ms", "<prefix>p99-ms" and
// "<prefix>max-ms".
func ReportLatency(b *testing.B, prefix string, lats []time.Duration) {
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	pct := func(q float64) float64 {
		k := int(math.Ceil(q*float64(len(lats)))) - 1
		return float64(lats[max(k, 0)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
	b.ReportMetric(pct(1), prefix+"max-ms")
}

// JSONTime returns the RFC 3339 time of string field name in a flat JSON
// object, found by search rather than decoding (cheap enough for a
// benchmark's subscriber to keep up); zero when absent.
func JSONTime(payload []byte, name string) time.Time {
	key := `"` + name + `":"`
	i := strings.Index(string(payload), key)
	if i < 0 {
		return time.Time{}
	}
	rest := payload[i+len(key):]
	j := strings.IndexByte(string(rest), '"')
	if j < 0 {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t
}

// MosquittoPub publishes payload on topic to broker (an mqtt:// URL) at
// QoS 1 with mosquitto_pub (Debian's mosquitto-clients), retained when
// retain: a publisher that is not ours. It skips the test when
// mosquitto_pub is not installed and fails it when the publish fails.
func MosquittoPub(t testing.TB, broker, topic string, payload []byte, retain bool) {
	t.Helper()
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub not installed (Debian package mosquitto-clients)")
	}
	host, port, err := net.SplitHostPort(strings.TrimPrefix(broker, "mqtt://"))
	if err != nil {
		t.Fatalf("broker %q: %v", broker, err)
	}
	args := []string{"-h", host, "-p", port, "-t", topic, "-q", "1", "-s"}
	if retain {
		args = append(args, "-r")
	}
	cmd := exec.Command("mosquitto_pub", args...)
	cmd.Stdin = strings.NewReader(string(payload))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub -t %s: %v: %s", topic, err, out)
	}
}
