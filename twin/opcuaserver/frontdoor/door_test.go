package frontdoor

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
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
	d.Start(func(c net.Conn) {
		// Echo every message, the Hello included, one Write each.
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
	})
	t.Cleanup(func() { d.Close() })
	return d, func(l Link) {
		mu.Lock()
		link = l
		mu.Unlock()
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
