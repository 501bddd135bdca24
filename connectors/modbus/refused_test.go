package modbus

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/connectors"
)

// TestRefusedDeviceStaysWatched: a device refusing every point is still
// asked something at every poll (the refusal is an answer: Connected),
// so when it then goes silent or away every point reads
// Bad_NoCommunication within a few polls, not a reprobe interval later.
func TestRefusedDeviceStaysWatched(t *testing.T) {
	tests := []struct {
		name  string
		fault func(ts *testServer, mute *atomic.Bool)
	}{
		{"silent", func(_ *testServer, mute *atomic.Bool) { mute.Store(true) }},
		{"gone", func(ts *testServer, _ *atomic.Bool) { ts.stop() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mute atomic.Bool
			ts := newTestServer(t)
			ts.handlers[3] = refuse(mbserver.ReadHoldingRegisters, &mbserver.IllegalDataAddress, 0, 1)
			ts.handlers[1] = refuse(mbserver.ReadCoils, &mbserver.IllegalDataAddress, 0)
			ts.hook = func(int64, *mbserver.TCPFrame) time.Duration {
				if mute.Load() {
					return time.Hour
				}
				return 0
			}
			ts.start("127.0.0.1:0")
			points := []string{"holding:0:float32", "coil:0:bool"}
			r := start(t, Config{Name: "refuser", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Timeout: 50 * time.Millisecond, Points: points})
			if r.c.reprobe < time.Minute {
				t.Fatalf("reprobe %s: the test needs the minute between reprobes", r.c.reprobe)
			}
			refusedAll := func(p map[string]connectors.Reading) bool {
				for _, rd := range p {
					if codeOf(rd.Status) != connectors.BadConfigurationError || !strings.Contains(rd.Status.Error(), "exception 2 (illegal data address)") {
						return false
					}
				}
				return true
			}
			r.pollUntil("every point refused", refusedAll)
			for range 3 {
				before := ts.requests.Load()
				if p := r.poll(); !refusedAll(p) {
					t.Fatalf("poll of the refusing device: %v", p)
				}
				if ts.requests.Load() == before {
					t.Fatal("a poll sent no request to the refusing device")
				}
			}
			if h := r.c.Health(); h.State != connectors.Connected {
				t.Errorf("health of the refusing device %+v, want connected", h)
			}
			tt.fault(ts, &mute)
			polls := 0
			r.pollUntil("Bad_NoCommunication", func(p map[string]connectors.Reading) bool {
				polls++
				return allLost(p)
			})
			if polls > 3 {
				t.Errorf("Bad_NoCommunication after %d polls, want within 3", polls)
			}
			if h := r.c.Health(); h.State != connectors.Down {
				t.Errorf("health after the fault %+v, want down", h)
			}
			// And at every poll of the outage.
			for range 3 {
				if p := r.poll(); !allLost(p) {
					t.Errorf("poll during the outage: %v", p)
				}
			}
		})
	}
}

// TestReprobeOnClosedConnection: a reprobe of a refused point that finds
// the connection closed by the device is no refusal and no outage: it is
// redialed and read again in the same poll, so a point the device
// accepts again comes back at once. Both reprobes are covered: the
// periodic one beside healthy reads, and the one made at every poll when
// every point is refused.
func TestReprobeOnClosedConnection(t *testing.T) {
	tests := []struct {
		name    string
		points  []string
		reprobe time.Duration
	}{
		{"periodic", []string{"holding:0:int16", "holding:50:int16"}, 100 * time.Millisecond},
		{"every point refused", []string{"holding:50:int16"}, time.Hour},
	}
	const refused = "holding:50:int16"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.mb.HoldingRegisters[0], ts.mb.HoldingRegisters[50] = 10, 50
			var fixed atomic.Bool
			refusing := refuse(mbserver.ReadHoldingRegisters, &mbserver.IllegalDataAddress, 50)
			ts.handlers[3] = func(s *mbserver.Server, f mbserver.Framer) ([]byte, *mbserver.Exception) {
				if fixed.Load() {
					return mbserver.ReadHoldingRegisters(s, f)
				}
				return refusing(s, f)
			}
			var c *Connector
			var armed, dropped atomic.Bool
			var dropPoll, retryPoll atomic.Int64
			retryPoll.Store(-1)
			ts.drop = func(_ int64, f *mbserver.TCPFrame) bool {
				if start, _ := span(f); start != 50 || !armed.Load() {
					return false
				}
				polls := int64(c.Stats().Polls)
				if dropped.CompareAndSwap(false, true) {
					dropPoll.Store(polls)
					return true
				}
				retryPoll.CompareAndSwap(-1, polls)
				return false
			}
			ts.start("127.0.0.1:0")
			var err error
			c, err = New(Config{Name: "reprobe", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond,
				Points: tt.points, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			c.reprobe = tt.reprobe
			r := startConnector(t, c)
			p := r.poll()
			if codeOf(p[refused].Status) != connectors.BadConfigurationError {
				t.Fatalf("first poll: %v", p)
			}
			// The device accepts the point again, and drops the
			// connection at the next request for it.
			fixed.Store(true)
			armed.Store(true)
			r.pollUntil("the point back", func(p map[string]connectors.Reading) bool {
				for pt, rd := range p {
					if codeOf(rd.Status).IsBad() && codeOf(rd.Status) != connectors.BadConfigurationError {
						t.Errorf("%s: %v while the device only closed a connection", pt, rd.Status)
					}
				}
				return p[refused].Status == nil && p[refused].Raw == int64(50)
			})
			if !dropped.Load() {
				t.Fatal("no reprobe reached the device")
			}
			if dp, rp := dropPoll.Load(), retryPoll.Load(); rp != dp {
				t.Errorf("reprobe dropped in poll %d read again in poll %d, want the same poll", dp, rp)
			}
			if h := r.c.Health(); h.State != connectors.Connected || h.Reconnects == 0 {
				t.Errorf("health %+v: want connected after a reconnect", h)
			}
			if st := r.c.Stats(); st.BadPoints != 0 {
				t.Errorf("BadPoints = %d", st.BadPoints)
			}
		})
	}
}

// TestRefusedDeviceRecovers: when a device that refused every point
// accepts them again, the poll whose liveness read finds one point
// readable reads all the others again too, without waiting for the
// reprobe interval.
func TestRefusedDeviceRecovers(t *testing.T) {
	ts := newTestServer(t)
	ts.mb.HoldingRegisters[10] = 12
	ts.mb.InputRegisters[0] = 7
	ts.mb.Coils[3] = 1
	var fixed atomic.Bool
	for fc, h := range map[byte]handlerFunc{1: mbserver.ReadCoils, 3: mbserver.ReadHoldingRegisters, 4: mbserver.ReadInputRegisters} {
		ts.handlers[fc] = func(s *mbserver.Server, f mbserver.Framer) ([]byte, *mbserver.Exception) {
			if !fixed.Load() {
				return []byte{}, &mbserver.IllegalDataAddress
			}
			return h(s, f)
		}
	}
	ts.start("127.0.0.1:0")
	points := []string{"input:0:int16", "holding:10:int16", "coil:3:bool"}
	r := start(t, Config{Name: "back", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Points: points})
	for range 3 {
		for pt, rd := range r.poll() {
			if codeOf(rd.Status) != connectors.BadConfigurationError {
				t.Fatalf("%s before the fix: %v", pt, rd.Status)
			}
		}
	}
	fixed.Store(true)
	p := r.pollUntil("a point back", func(p map[string]connectors.Reading) bool {
		for _, rd := range p {
			if rd.Status == nil {
				return true
			}
		}
		return false
	})
	if p["input:0:int16"].Raw != int64(7) || p["holding:10:int16"].Raw != int64(12) || p["coil:3:bool"].Raw != true || !allStatus(nil)(p) {
		t.Errorf("the poll that found the device fixed: %v, want every point good", p)
	}
	if st := r.c.Stats(); st.BadPoints != 0 {
		t.Errorf("BadPoints = %d", st.BadPoints)
	}
}
