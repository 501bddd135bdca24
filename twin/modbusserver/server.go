// Package modbusserver serves the machines of a running twin over Modbus
// TCP: one Server listens on one port and answers, gateway style, for every
// machine grouped on that port, each under its own unit id.
//
// # Why the connection loop is our own
//
// Of github.com/tbrandon/mbserver only the Exception values are used. Its
// frame codec allocates a frame per request, which a server answering
// hundreds of thousands of requests per second cannot afford, and its server
// loop reads one frame per conn.Read without MBAP length framing (split or
// pipelined frames drop the connection), panics on fc15/fc16 with fewer than
// five data bytes, has no quantity limits, serializes every client through
// one goroutine (a client that never reads stalls all others), shares
// register slices between goroutines without locking, cannot report the port
// it bound, and panics when closed twice. This package owns, in one place,
// the accept loop (one goroutine per connection), MBAP framing by the length
// field (parsed in place, answers built in a per-connection buffer), the
// limits of the Modbus specification, and the handlers.
//
// # Behaviour on the wire
//
//   - Unit ids: a request for a unit id no machine of the port has gets
//     exception 0x0B (gateway target device failed to respond), as a
//     Modbus gateway answers for an absent device.
//   - Framing: protocol id must be 0 and the MBAP length 2..254 (an ADU of
//     at most 260 bytes); otherwise the stream cannot be trusted and the
//     connection is closed. Split and coalesced TCP segments are handled.
//     A PDU whose size does not match its function code gets exception 3.
//   - Function codes 1, 2, 3, 4, 5, 6, 15, 16 and 23. Any other: exception 1.
//   - Quantities: read registers 1..125, read bits 1..2000, write registers
//     1..123, write coils 1..1968, read/write (23) 1..125 read and 1..121
//     written; byte counts must match the quantity; fc5 takes only 0x0000
//     or 0xFF00. Otherwise exception 3.
//   - Addresses: a request covering any unmapped address gets exception 2
//     (as most PLCs do): a read of a block with a hole is refused whole.
//     A read may cover part of a multi-register value.
//   - Writes (fc5, 6, 15, 16, 23) go to coils and holding registers only.
//     Every address and encoding is checked before the first Write, so a
//     refused request changes nothing, except when the engine refuses one
//     tag of a multi-tag write: the tags before it keep their new values.
//     The exception code of a refused write says why, and a "write
//     refused" log line names the reason, the tag and the peer (at most 20
//     lines per 10 s per port; the rest are counted in the next line):
//     02 illegal data address: an address of the request is not mapped,
//     the tag is not writable (input registers and discrete inputs never
//     are), or the write covers only part of a multi-register value (a
//     write must cover each value whole); 03 illegal data value: the value
//     does not fit the tag's type after scale and offset, or the twin
//     refuses it as out of range (outside the tag's range, NaN, ±Inf;
//     twin.ErrOutOfRange) or of the wrong type (twin.ErrType); also, with
//     no log line, a malformed request (quantity or byte count outside the
//     limits above, a coil value other than 0x0000 or 0xFF00); 04 server
//     device failure: the twin refused the write for another reason.
//   - 64-bit integers: with scale 1 and offset 0, an integer tag in an
//     integer register is encoded and decoded bit for bit, never through a
//     float64 (12345678901234567891 in a uint64 tag is served and written
//     exactly). A scale or offset, or a float register, makes the
//     conversion float64 arithmetic (53 bits of mantissa).
//   - Encoding: raw = (value − offset) / scale, rounded and clamped to the
//     register type (NaN becomes 0 in integer registers); byte and word
//     order per the tag's mapping (AB, BA for 16-bit values; ABCD, DCBA,
//     BADC, CDAB for 32-bit; ABCDEFGH, HGFEDCBA, BADCFEHG, GHEFCDAB for
//     64-bit; a 4-letter order on a 64-bit value means its 8-letter
//     equivalent). Each unit keeps its tables as sent on the wire (a
//     register image), re-encoded from Source.Value for the tags that
//     changed whenever a request finds the engine's watcher signalled; a
//     request that starts after a write or tick has returned sees it.
//     The Modbus table carries no quality: a Bad value is served as is.
//   - Faults of Link(machine, "modbus"): Down reads and discards the
//     machine's requests; Latency delays each response on that connection
//     only; Exception answers every request to the unit with that code; a
//     new Epoch closes every connection accepted under an older one (on the
//     next request, and within Config.FaultPoll when idle).
//   - Slow clients: each connection has its own goroutine, a 16 KiB socket
//     send buffer and Config.WriteTimeout, so a client that stops reading
//     is dropped and never stalls the others.
//   - Pipelining: a client may send requests without waiting for answers;
//     they are answered in order, and the answers to every whole request
//     received are sent together once no further whole request is waiting.
//   - Connection slots (package connslot): at most Config.MaxConns
//     connections. A connection is idle until it has sent a whole request
//     and again after Config.IdleAfter of silence; when every slot is
//     taken, a new connection closes the one idle the longest, and is
//     itself closed at once only when every slot holds a live connection.
//     Refused and yielded connections are logged as a rate (one line per
//     10 s at most, with counts and peer hosts).
package modbusserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
	"github.com/otwin/otwin/twin/clientlog"
	"github.com/otwin/otwin/twin/connslot"
)

// Source is what the server needs of the twin engine. All methods must be
// safe for concurrent use: every connection calls them from its own
// goroutine.
type Source interface {
	// Tags describes every tag; TagInfo.Modbus is the register mapping.
	Tags() []twin.TagInfo
	// Machines describes every machine; MachineInfo.Modbus its unit id.
	Machines() []twin.MachineInfo
	// Value is tag i's current value, faults applied.
	Value(i int) twin.Value
	// Write sets writable tag i to v, a value of the tag's Go type.
	Write(i int, v any) error
	// Link is the transport fault state of a machine for a protocol.
	Link(machine, protocol string) twin.Link
	// Watch follows value changes (the register image is refreshed from
	// it); the engine signals before a write or tick returns.
	Watch() *twin.Watcher
}

// Config configures one Modbus TCP port.
type Config struct {
	// Host to listen on. Default 127.0.0.1.
	Host string `yaml:"host,omitempty"`
	// Port to listen on; 0 picks a free port (see Server.Addr).
	Port int `yaml:"port,omitempty"`
	// Machines are the names of the machines served on this port, each
	// under its own unit id. Empty: every machine with a Modbus exposure.
	Machines []string `yaml:"machines,omitempty"`
	// MaxConns is the number of connection slots. When all are taken, a
	// new connection makes the connection idle the longest yield (see
	// IdleAfter); when every slot holds a live connection, the new one is
	// closed at once. Default 64.
	MaxConns int `yaml:"max_conns,omitempty"`
	// IdleAfter is how long a connection may be silent after a request
	// before its slot may go to a new connection. A connection that has
	// not sent a whole request yet is idle from the start. Default 10s.
	IdleAfter time.Duration `yaml:"idle_after,omitempty"`
	// ReadTimeout closes a connection that sends no complete frame for this
	// long (to an eighth more), whether slots are scarce or not. Default
	// 60s; negative: never.
	ReadTimeout time.Duration `yaml:"read_timeout,omitempty"`
	// WriteTimeout closes a connection whose client does not take a
	// response within this long (to an eighth more). Default 10s;
	// negative: never.
	WriteTimeout time.Duration `yaml:"write_timeout,omitempty"`
	// FaultPoll is how often idle connections are checked against the
	// disconnect epoch of their machines. Default 100ms.
	FaultPoll time.Duration `yaml:"fault_poll,omitempty"`
	// Alarms are the twin's alarms: those mapped to a discrete input of a
	// served machine are served (alarms.go). nil: none.
	Alarms *alarms.Set `yaml:"-"`
	// Logger receives connection events and protocol errors. Default
	// slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

func (c *Config) defaults() {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.MaxConns <= 0 {
		c.MaxConns = connslot.DefaultMax
	}
	if c.IdleAfter <= 0 {
		c.IdleAfter = connslot.DefaultIdleAfter
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.FaultPoll <= 0 {
		c.FaultPoll = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// sendBuffer is the socket send buffer of each client connection.
const sendBuffer = 16 << 10

// Server is a Modbus TCP server for the machines of one port. Its methods
// are safe for concurrent use.
type Server struct {
	src   Source
	cfg   Config
	units [256]*unit
	list  []*unit // units in configuration order
	log   *slog.Logger
	hub   *hub // the register image, shared with other servers of src
	slots *connslot.Limiter
	// refusals rate-limits the log lines of refused writes.
	refusals refusalLog
	// obs is the client activity hook (observe.go), nil when none.
	obs         clientlog.Observer
	obsMachines []string

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*conn]struct{}
	started bool
	closed  bool

	panics atomic.Int64 // connections ended by a recovered panic

	alarmSlots []*slot       // the alarms' discrete inputs (alarms.go)
	alarmSeen  atomic.Uint64 // 1 + the alarms' Version the bits show

	done        chan struct{}
	closeOnce   sync.Once
	releaseOnce sync.Once
	closeErr    error
	wg          sync.WaitGroup
}

// New indexes the registers of cfg.Machines of src and returns a server
// ready to Start. It reports every mapping problem at once (unknown table,
// unsupported type or byte order, overlapping addresses, duplicate unit
// ids), each naming the machine and tag.
func New(src Source, cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("modbus server: port %d out of range 0-65535", cfg.Port)
	}
	units, err := buildUnits(src, cfg.Machines, cfg.Alarms)
	if err != nil {
		return nil, fmt.Errorf("modbus server %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), err)
	}
	s := &Server{src: src, cfg: cfg, list: units, conns: map[*conn]struct{}{}, done: make(chan struct{})}
	for _, u := range units {
		s.units[u.id] = u
	}
	s.log = cfg.Logger.With("component", "modbusserver")
	s.hub = attach(src, units)
	for _, u := range units {
		for _, sl := range u.tables[tDiscrete] {
			if sl.alarm > 0 {
				s.alarmSlots = append(s.alarmSlots, sl)
			}
		}
	}
	return s, nil
}

// Start listens and serves until ctx ends or Close is called. It returns
// once the server is listening (Addr is valid), or with the listen error.
// Start may be called once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("modbus server: already started or closed")
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("modbus server %s: %w", addr, err)
	}
	s.ln = ln
	s.started = true
	s.log = s.log.With("addr", ln.Addr().String())
	s.slots = connslot.New(connslot.Config{Max: s.cfg.MaxConns, IdleAfter: s.cfg.IdleAfter,
		Endpoint: "modbus", Logger: s.log})
	s.log.Info("listening", "units", len(s.list))
	s.wg.Add(3)
	go s.acceptLoop()
	go s.watchEpochs()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.shutdown()
		case <-s.done:
		}
	}()
	return nil
}

// Addr is the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops listening, closes every open connection, waits for their
// goroutines and releases the register image. A server made by New must
// be closed even if never started. It is idempotent; later calls return
// the first result.
func (s *Server) Close() error {
	s.shutdown()
	s.wg.Wait()
	s.releaseOnce.Do(func() {
		if s.slots != nil {
			s.slots.Close()
		}
		s.hub.detach(s.list)
	})
	return s.closeErr
}

// shutdown closes the listener and connections without waiting.
func (s *Server) shutdown() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		if s.ln != nil {
			if err := s.ln.Close(); err != nil {
				s.closeErr = fmt.Errorf("modbus server %s: %w", s.ln.Addr(), err)
			}
		}
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
	})
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-s.done:
					return
				}
			}
			s.log.Error("accept failed, server stops accepting", "err", err)
			return
		}
		backoff = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			// A Modbus client has few requests in flight: a small send
			// buffer bounds memory per connection and lets WriteTimeout
			// find a client that stopped reading soon.
			tc.SetWriteBuffer(sendBuffer)
		}
		c := &conn{s: s, nc: nc, peer: nc.RemoteAddr().String(), epochs: s.currentEpochs()}
		slot, ok := s.slots.Admit(c.peer, func() { nc.Close() })
		if !ok {
			nc.Close() // counted and logged as a rate by s.slots
			continue
		}
		c.slot = slot
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			slot.Release()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// isTemporary reports accept errors worth retrying (e.g. EMFILE).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// numConns is the number of open client connections.
func (s *Server) numConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// currentEpochs reads the disconnect epoch of every unit.
func (s *Server) currentEpochs() []uint64 {
	e := make([]uint64, len(s.list))
	for i, u := range s.list {
		e[i] = s.src.Link(u.machine, "modbus").Epoch
	}
	return e
}

// watchEpochs closes idle connections accepted under an older epoch.
func (s *Server) watchEpochs() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.FaultPoll)
	defer t.Stop()
	last := s.currentEpochs()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		cur := s.currentEpochs()
		changed := false
		for i := range cur {
			if cur[i] != last[i] {
				changed = true
			}
		}
		if !changed {
			continue
		}
		last = cur
		s.mu.Lock()
		for c := range s.conns {
			if c.stale(cur) {
				s.log.Info("disconnect fault: closing connection", "peer", c.peer)
				c.nc.Close()
			}
		}
		s.mu.Unlock()
	}
}
