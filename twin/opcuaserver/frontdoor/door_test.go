package frontdoor

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// echoDoor starts a door whose handler echoes every chunk back, with a
// link the test controls.
func echoDoor(t *testing.T) (*Door, func(Link)) {
	t.Helper()
	var mu sync.Mutex
	var link Link
	d, err := Listen(Config{
		Addr:         "127.0.0.1:0",
		HelloTimeout: 2 * time.Second,
		PollInterval: 5 * time.Millisecond,
		Link: func() Link {
			mu.Lock()
			defer mu.Unlock()
			return link
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(echoHandler)
	t.Cleanup(func() { d.Close() })
	return d, func(l Link) {
		mu.Lock()
		link = l
		mu.Unlock()
	}
}

// echoHandler echoes every message, the Hello included, one Write each.
func echoHandler(c net.Conn) {
	buf := make([]byte, 65536)
	for {
		if _, err := io.ReadFull(c, buf[:8]); err != nil {
			return
		}
		size := int(binary.LittleEndian.Uint32(buf[4:8]))
		if size < 8 || size > len(buf) {
			return
		}
		if _, err := io.ReadFull(c, buf[8:size]); err != nil {
			return
		}
		if _, err := c.Write(buf[:size]); err != nil {
			return
		}
	}
}

// dialDoor connects, sends a good Hello and reads its echo.
func dialDoor(t *testing.T, d *Door) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	h := hello(0, 65536, 65536, 0, 0, "")
	if _, err := c.Write(h); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(h))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, h) {
		t.Fatalf("hello echo %q, %v", got, err)
	}
	return c
}

func echo(t *testing.T, c net.Conn) error {
	t.Helper()
	msg := chunk("MSGF", []byte("0123456789abcdef"))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	return nil
}

func TestDoorLinkFaults(t *testing.T) {
	d, setLink := echoDoor(t)
	c := dialDoor(t, d)
	if err := echo(t, c); err != nil {
		t.Fatalf("echo through the door: %v", err)
	}

	t.Run("latency", func(t *testing.T) {
		setLink(Link{Latency: 150 * time.Millisecond})
		d.Refresh()
		start := time.Now()
		if err := echo(t, c); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Errorf("echo took %v with 150ms latency", el)
		}
		setLink(Link{})
		d.Refresh()
	})

	t.Run("epoch drops open connections without Refresh", func(t *testing.T) {
		setLink(Link{Epoch: 1})
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("connection not closed by the poller: %v", err)
		}
		if d.Stats().Dropped != 1 {
			t.Errorf("stats %+v", d.Stats())
		}
	})

	t.Run("down refuses new connections", func(t *testing.T) {
		setLink(Link{Down: true, Epoch: 1})
		d.Refresh()
		c2, err := net.Dial("tcp", d.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(3 * time.Second))
		c2.Write(hello(0, 65536, 65536, 0, 0, ""))
		if got, _ := io.ReadAll(c2); len(got) != 0 {
			t.Errorf("down endpoint answered %q", got)
		}
		if d.Stats().Refused == 0 {
			t.Errorf("stats %+v", d.Stats())
		}
		setLink(Link{Epoch: 1})
		d.Refresh()
		c3 := dialDoor(t, d)
		if err := echo(t, c3); err != nil {
			t.Errorf("after recovery: %v", err)
		}
	})
}

func TestDoorCloseWaitsForHandlers(t *testing.T) {
	d, err := Listen(Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	var done bool
	var mu sync.Mutex
	d.Start(func(c net.Conn) {
		close(entered)
		io.Copy(io.Discard, c)
		mu.Lock()
		done = true
		mu.Unlock()
	})
	c, err := net.Dial("tcp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(hello(0, 65536, 65536, 0, 0, ""))
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
	d.Close()
	d.Close()
	mu.Lock()
	defer mu.Unlock()
	if !done {
		t.Error("Close returned before the handler")
	}
	if _, err := net.DialTimeout("tcp", d.Addr().String(), time.Second); err == nil {
		t.Error("still listening after Close")
	}
}

// slotDoor starts an echo door with max slots and the given idle time,
// logging into logs.
func slotDoor(t *testing.T, max int, idle time.Duration, logs *syncBuffer) *Door {
	t.Helper()
	d, err := Listen(Config{
		Addr:      "127.0.0.1:0",
		MaxConns:  max,
		IdleAfter: idle,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(echoHandler)
	t.Cleanup(func() { d.Close() })
	return d
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// closedSoon reports whether the server closes c within timeout.
func closedSoon(c net.Conn, timeout time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func TestOldestIdleYields(t *testing.T) {
	var logs syncBuffer
	d := slotDoor(t, 3, time.Minute, &logs)
	live := dialDoor(t, d) // Hello echoed
	if err := echo(t, live); err != nil {
		t.Fatal(err)
	}
	older, err := net.Dial("tcp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer older.Close()
	testkit.Eventually(t, 5*time.Second, "two slots taken", func() bool { return d.Stats().Active == 2 })
	newer, err := net.Dial("tcp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Close()
	testkit.Eventually(t, 5*time.Second, "three slots taken", func() bool { return d.Stats().Active == 3 })

	// The door is full: a newcomer makes the oldest idle connection yield,
	// not the live one, not the newer idle one.
	c := dialDoor(t, d)
	if err := echo(t, c); err != nil {
		t.Fatalf("newcomer: %v", err)
	}
	if !closedSoon(older, 3*time.Second) {
		t.Error("the oldest idle connection was not closed")
	}
	if closedSoon(newer, 200*time.Millisecond) {
		t.Error("the newer idle connection was closed")
	}
	if err := echo(t, live); err != nil {
		t.Errorf("the live connection: %v", err)
	}
	if st := d.Stats(); st.Yielded != 1 || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
	testkit.Eventually(t, 5*time.Second, "the yield logged", func() bool { return strings.Contains(logs.String(), "idle connections closed to make room") })
}

// TestRefusalsLoggedAsRate: 300 connections refused while every slot is
// live make a line or two in the log, not 300.
func TestRefusalsLoggedAsRate(t *testing.T) {
	var logs syncBuffer
	d := slotDoor(t, 2, time.Minute, &logs)
	for range 2 {
		if err := echo(t, dialDoor(t, d)); err != nil {
			t.Fatal(err)
		}
	}
	for range 300 {
		c, err := net.Dial("tcp", d.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	testkit.Eventually(t, 5*time.Second, "300 refusals", func() bool { return d.Stats().Refused == 300 })
	d.Close()
	out := logs.String()
	lines := strings.Count(out, "\n")
	if lines == 0 || lines > 3 || !strings.Contains(out, "connections refused") {
		t.Errorf("%d log lines for 300 refusals:\n%s", lines, out)
	}
	if !strings.Contains(out, "refused=") {
		t.Errorf("the log line does not count the refusals:\n%s", out)
	}
}

// TestSendTimeoutDropsStalledClient: a client that stops reading while
// the server has more to send is disconnected after SendTimeout.
func TestSendTimeoutDropsStalledClient(t *testing.T) {
	d, err := Listen(Config{Addr: "127.0.0.1:0", SendTimeout: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	wrote := make(chan error, 1)
	d.Start(func(c net.Conn) {
		msg := chunk("MSGF", make([]byte, 60000))
		for {
			if _, err := c.Write(msg); err != nil {
				wrote <- err
				return
			}
		}
	})
	c, err := net.Dial("tcp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(hello(0, 65536, 65536, 0, 0, ""))
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer is still blocked on a client that reads nothing")
	}
	if st := d.Stats(); st.Stalled != 1 {
		t.Errorf("stats %+v", st)
	}
}
