package modbusserver

import (
	"bytes"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// syncBuf is a log sink safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIdleSocketsYield fills every slot with sockets that never send a
// whole request (some send half a header): a new client is still served at
// once, and the socket idle the longest is the one closed for it.
func TestIdleSocketsYield(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{}) // 64 slots
	var idle []net.Conn
	for i := range 64 {
		c := rawConn(t, s.Addr())
		if i%2 == 1 {
			c.Write([]byte{0, 1, 0}) // half-open: a partial header
		}
		idle = append(idle, c)
		testkit.Eventually(t, 2*time.Second, "the idle socket to be accepted", func() bool { return s.numConns() == i+1 })
	}
	c := dial(t, s.Addr(), 1, 2*time.Second)
	if b, err := c.ReadHoldingRegisters(1000, 1); err != nil || !bytes.Equal(b, []byte{0, 1}) {
		t.Fatalf("new client with every slot idle: % x %v", b, err)
	}
	expectClosed(t, idle[0])
	// The others keep their slot: the server holds 64 connections.
	if n := s.numConns(); n != 64 {
		t.Fatalf("%d connections open, want 64", n)
	}
	if st := s.slots.Stats(); st.Yielded != 1 || st.Refused != 0 {
		t.Fatalf("slots %+v, want 1 yielded, 0 refused", st)
	}
}

// TestLiveSlotsRefuseAsARate fills every slot with live clients: new
// connections are refused, logged in one line per interval, not one each;
// once a client has been silent for IdleAfter its slot goes to a new one.
func TestLiveSlotsRefuseAsARate(t *testing.T) {
	e := newEngine(t, gridScenario())
	var logs syncBuf
	s := startServer(t, e, Config{MaxConns: 3, IdleAfter: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var live []*client
	for range 3 {
		c := dial(t, s.Addr(), 1, 2*time.Second)
		if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
			t.Fatal(err)
		}
		live = append(live, c)
	}
	const refused = 40
	for range refused {
		expectClosed(t, rawConn(t, s.Addr()))
	}
	// Two of three stay busy; the first falls silent and yields.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range live[1:] {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
					t.Errorf("busy client: %v", err)
					return
				}
			}
		})
	}
	testkit.Eventually(t, 5*time.Second, "a slot once the first client is idle", func() bool {
		nc, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			return false
		}
		nc.Write(adu(1, 0, 1, pdu(3, 1000, 1)))
		_, _, _, err = readADU(nc, time.Second)
		nc.Close()
		return err == nil
	})
	close(stop)
	wg.Wait()
	if _, err := live[0].ReadHoldingRegisters(1000, 1); err == nil {
		t.Error("the idle client kept its connection, want it closed for the new one")
	}
	for _, c := range live[1:] {
		if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
			t.Errorf("busy client lost its connection: %v", err)
		}
	}
	st := s.slots.Stats()
	if st.Refused < refused || st.Yielded != 1 {
		t.Fatalf("slots %+v, want at least %d refused and 1 yielded", st, refused)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// One line at the first refusal, one for the rest of the interval at
	// Close: never a line per connection.
	var lines []string
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(l, "refused=") {
			continue
		}
		lines = append(lines, l)
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "refused="); ok {
				n, _ := strconv.Atoi(v)
				total += n
				break
			}
		}
	}
	if len(lines) == 0 || len(lines) > 3 || total != int(st.Refused) {
		t.Fatalf("%d rate lines counting %d refusals, want 1-3 lines counting %d:\n%s", len(lines), total, st.Refused, logs.String())
	}
	if !strings.Contains(lines[0], "127.0.0.1 refused=") {
		t.Errorf("rate line names no peer: %s", lines[0])
	}
}
