package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/mbexception"

	"github.com/goburrow/modbus"

	"github.com/otwin/otwin/connectors"
)

// Reconnect backoff bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// defaultReprobe is how often points found misconfigured (exception 01,
// 02 or 03 when read alone) are read again, in case the device changed.
// While no other read goes to the device, one of them is read at every
// poll regardless (see session.probeBad).
const defaultReprobe = time.Minute

// Connector polls one Modbus TCP device. It implements
// connectors.Connector. Create it with New; Run it once. Name, Health and
// Stats are safe for concurrent use, also while Run runs.
type Connector struct {
	cfg     Config
	regs    []Register
	log     *slog.Logger
	reprobe time.Duration

	running atomic.Bool

	mu     sync.Mutex // guards health and stats
	health connectors.Health
	stats  Stats
}

// Stats are a connector's counters beyond connectors.Health.
type Stats struct {
	// Polls counts polls run.
	Polls uint64
	// Skipped counts scheduled polls skipped because the previous poll
	// overran its interval.
	Skipped uint64
	// Requests counts read requests sent.
	Requests uint64
	// BadPoints is the number of points currently found misconfigured
	// (reported with Bad_ConfigurationError).
	BadPoints int
}

// New validates cfg (every problem at once, naming the device and each
// bad point) and returns a connector that has not yet connected. It logs
// a warning for addresses that look like Modicon numbers (holding
// 40001-49999, input 30001-39999).
func New(cfg Config) (*Connector, error) {
	cfg = cfg.withDefaults()
	regs, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	cfg.Points = slices.Clone(cfg.Points)
	c := &Connector{
		cfg:     cfg,
		regs:    regs,
		log:     cfg.Logger.With("source", cfg.Name, "endpoint", cfg.Address),
		reprobe: defaultReprobe,
	}
	for i, r := range regs {
		if r.Table == Holding && r.Address > 40000 && r.Address < 50000 ||
			r.Table == Input && r.Address > 30000 && r.Address < 40000 {
			c.log.Warn("modbus point looks like a Modicon number; addresses are 0-based (40001 is holding:0)",
				"point", cfg.Points[i])
		}
	}
	c.health = connectors.Health{
		Source:   cfg.Name,
		Protocol: "modbus",
		Endpoint: cfg.Address,
		State:    connectors.Connecting,
		Since:    time.Now(),
	}
	return c, nil
}

// Name is the device's name (Config.Name).
func (c *Connector) Name() string { return c.cfg.Name }

// Registers returns the parsed points, in the order of Config.Points.
func (c *Connector) Registers() []Register { return slices.Clone(c.regs) }

// Health returns a snapshot of the device's state: Connecting until the
// device first answers or fails in a Run; Connected while it answers
// requests (an exception is an answer); Down from a failed dial or
// request until it answers again, and after Run returns.
func (c *Connector) Health() connectors.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

// Stats returns a snapshot of the connector's counters.
func (c *Connector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Run connects to the device and polls it every PollInterval until ctx
// ends, sending one Reading per point per poll into out (see the package
// documentation for how failures map to Reading.Status). It reconnects by
// itself with exponential backoff (100ms to 5s). It returns nil when ctx
// ends, after closing the connection; any request in flight is
// interrupted. It returns an error only if the connector is already
// running. Run never closes out; a reader that stops reading stalls only
// this connector, until ctx ends.
func (c *Connector) Run(ctx context.Context, out chan<- connectors.Reading) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("modbus device %q: already running", c.cfg.Name)
	}
	defer c.running.Store(false)
	c.mu.Lock()
	if c.health.State != connectors.Connecting {
		c.health.State, c.health.Since = connectors.Connecting, time.Now()
	}
	c.mu.Unlock()

	s := c.newSession()
	stop := context.AfterFunc(ctx, s.tr.close)
	defer stop()
	defer func() {
		s.tr.close()
		c.mu.Lock()
		if c.health.State != connectors.Down {
			c.health.State, c.health.Since = connectors.Down, time.Now()
		}
		c.mu.Unlock()
	}()

	interval := c.cfg.PollInterval
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wake := next
		if !s.tr.connected() && s.everDialed && s.nextDial.Before(wake) {
			wake = s.nextDial
		}
		timer.Reset(max(time.Until(wake), 0))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		if now.Before(next) {
			// A redial between polls.
			if !s.tr.connected() && !now.Before(s.nextDial) {
				s.dial(ctx)
			}
			continue
		}
		readings := s.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		for _, r := range readings {
			select {
			case out <- r:
			case <-ctx.Done():
				return nil
			}
		}
		c.mu.Lock()
		c.health.Readings += uint64(len(readings))
		c.stats.Polls++
		// Schedule the first poll time still ahead: a poll that overran
		// skips the polls it overlapped, and the schedule never drifts.
		k := time.Since(next)/interval + 1
		c.stats.Skipped += uint64(k - 1)
		c.mu.Unlock()
		next = next.Add(k * interval)
	}
}

// session is the state of one Run: connection, plan, backoff. It is used
// by Run's goroutine only.
type session struct {
	c      *Connector
	tr     *transport
	client modbus.Client

	plan       []block
	bad        map[int]refusal // misconfigured point → its last refusal
	everDialed bool            // a dial was attempted
	everUp     bool            // a dial succeeded
	outage     bool            // requests failed since the last good one
	needReplan bool            // replan at the next poll
	backoff    time.Duration
	nextDial   time.Time
	readings   []connectors.Reading
	lost       error // Status of link-down readings: Bad_NoCommunication saying why
	ioTime     time.Duration
	sent       int  // requests sent in this poll
	retried    bool // this poll redialed at once after the device closed the connection
}

// refusal is a point the device refused when read alone (exception 01,
// 02 or 03).
type refusal struct {
	probed time.Time // when it was last read
	status error     // its Reading.Status: Bad_ConfigurationError, saying why
}

// exceptionError is a Modbus exception answer, said plainly: "exception 2
// (illegal data address)". It wraps goburrow's *modbus.ModbusError.
type exceptionError struct{ me *modbus.ModbusError }

func (e exceptionError) Error() string {
	return fmt.Sprintf("exception %d (%s)", e.me.ExceptionCode, exceptionName(e.me.ExceptionCode))
}

func (e exceptionError) Unwrap() error { return e.me }

// exceptionName names a Modbus exception code as the specification does
// (package mbexception).
func exceptionName(code byte) string { return mbexception.Code(code).Name() }

// refused reports whether an exception code says the read itself is
// wrong (function, address or quantity), not the device.
func refused(code byte) bool {
	switch code {
	case modbus.ExceptionCodeIllegalFunction, modbus.ExceptionCodeIllegalDataAddress, modbus.ExceptionCodeIllegalDataValue:
		return true
	}
	return false
}

// exceptionStatus is the Reading.Status of the points of a read answered
// with exception code (err saying so), or nil when the answer means
// "retry later" (busy, acknowledge) and the points get no reading.
func exceptionStatus(code byte, err error) error {
	var c connectors.StatusCode
	switch {
	case refused(code):
		c = connectors.BadConfigurationError
	case code == modbus.ExceptionCodeServerDeviceBusy, code == modbus.ExceptionCodeAcknowledge:
		return nil
	case code == modbus.ExceptionCodeGatewayPathUnavailable, code == modbus.ExceptionCodeGatewayTargetDeviceFailedToRespond:
		c = connectors.BadNoCommunication
	default:
		c = connectors.BadDeviceFailure
	}
	return &connectors.StatusError{Code: c, Err: err}
}

func (c *Connector) newSession() *session {
	tr := &transport{addr: c.cfg.Address, timeout: c.cfg.Timeout}
	pk := modbus.NewTCPClientHandler(c.cfg.Address) // used as the packager only
	pk.SlaveId = byte(c.cfg.UnitID)
	s := &session{
		c:       c,
		tr:      tr,
		client:  modbus.NewClient2(pk, tr),
		bad:     make(map[int]refusal),
		backoff: minBackoff,
	}
	s.replan()
	return s
}

// replan plans reads of every point from scratch.
func (s *session) replan() {
	all := make([]int, len(s.c.regs))
	for i := range all {
		all[i] = i
	}
	s.plan = planBlocks(s.c.regs, all, s.c.cfg.MaxGap)
	clear(s.bad)
	s.c.mu.Lock()
	s.c.stats.BadPoints = 0
	s.c.mu.Unlock()
}

// setState records a link state change (and the error that caused it).
func (s *session) setState(st connectors.LinkState, err error) {
	c := s.c
	c.mu.Lock()
	changed := c.health.State != st
	if changed {
		c.health.State = st
		c.health.Since = time.Now()
	}
	if err != nil {
		c.health.LastError = err
	}
	c.mu.Unlock()
	if st == connectors.Down {
		s.lost = connectors.NoCommunication(err)
	}
	if !changed {
		return
	}
	if st == connectors.Connected {
		c.log.Info("modbus device connected")
	} else {
		c.log.Warn("modbus device "+st.String(), "err", err)
	}
}

// failed records a failed request or dial.
func (s *session) failed(err error) {
	c := s.c
	c.mu.Lock()
	c.health.Errors++
	c.health.LastError = err
	c.mu.Unlock()
}

// dial connects; on failure it marks the device down and schedules the
// next attempt with backoff.
func (s *session) dial(ctx context.Context) bool {
	s.everDialed = true
	t0 := time.Now()
	err := s.tr.dial(ctx)
	s.ioTime += time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		err = fmt.Errorf("dial %s on %s: %w", s.c.cfg.Address, s.c.cfg.Name, err)
		s.failed(err)
		s.scheduleRedial()
		s.outage = true
		s.setState(connectors.Down, err)
		return false
	}
	if s.everUp {
		s.c.mu.Lock()
		s.c.health.Reconnects++
		s.c.mu.Unlock()
	}
	s.everUp = true
	if s.outage {
		// The device may have changed while away: look at every point
		// afresh at the next poll.
		s.needReplan = true
	}
	// The state becomes Connected when the device answers, not on
	// connect: a device that accepts connections but never answers stays
	// Down.
	return true
}

func (s *session) scheduleRedial() {
	s.nextDial = time.Now().Add(s.backoff)
	s.backoff = min(2*s.backoff, maxBackoff)
}

// answered records that the device answered a request.
func (s *session) answered() {
	s.backoff = minBackoff
	s.outage = false
	s.setState(connectors.Connected, nil)
}

// errKind classifies a request error.
type errKind int

const (
	errNone      errKind = iota
	errException         // a Modbus exception response
	errComm              // the connection failed or timed out
	errProtocol          // a malformed or mismatched response
)

func classify(err error) errKind {
	if err == nil {
		return errNone
	}
	var me *modbus.ModbusError
	if errors.As(err, &me) {
		if me.FunctionCode&0x80 == 0 {
			// goburrow reports any function code mismatch as an
			// exception; only one with the exception bit is.
			return errProtocol
		}
		return errException
	}
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errNotConnected) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &ne) {
		return errComm
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return errComm
	}
	return errProtocol
}

// closedByPeer reports whether err says the peer closed the connection
// (as opposed to a timeout): worth one immediate redial, since devices
// drop idle connections.
func closedByPeer(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(*net.OpError))
}

// read sends the block's read request.
func (s *session) read(b block) ([]byte, error) {
	s.c.mu.Lock()
	s.c.stats.Requests++
	s.c.mu.Unlock()
	s.sent++
	t0 := time.Now()
	defer func() { s.ioTime += time.Since(t0) }()
	return readTable(s.client, b.Table, b.Start, b.Count)
}

// readTable sends the read of count entries of table t from start.
func readTable(cl modbus.Client, t Table, start, count uint16) ([]byte, error) {
	switch t {
	case Holding:
		return cl.ReadHoldingRegisters(start, count)
	case Input:
		return cl.ReadInputRegisters(start, count)
	case Coil:
		return cl.ReadCoils(start, count)
	default:
		return cl.ReadDiscreteInputs(start, count)
	}
}

// describe names a block's read for errors: "read holding 0-9 on press1
// (10.0.0.7:502 unit 1)".
func (s *session) describe(b block) string {
	return fmt.Sprintf("read %s %d-%d on %s (%s unit %d)", b.Table, b.Start, b.end()-1, s.c.cfg.Name, s.c.cfg.Address, s.c.cfg.UnitID)
}

// exception words an exception answer to b's read (err, classified
// errException) and returns it with the exception code.
func (s *session) exception(b block, err error) (byte, error) {
	var me *modbus.ModbusError
	errors.As(err, &me)
	return me.ExceptionCode, fmt.Errorf("%s: %w", s.describe(b), exceptionError{me})
}

// emit appends a reading of point i.
func (s *session) emit(i int, raw any, status error) {
	s.readings = append(s.readings, connectors.Reading{
		Source:   s.c.cfg.Name,
		Address:  s.c.cfg.Points[i],
		Raw:      raw,
		Status:   status,
		Received: time.Now(),
	})
}

// emitAll appends a reading with status for every point of b.
func (s *session) emitAll(b block, status error) {
	for _, i := range b.Points {
		s.emit(i, nil, status)
	}
}

// emitLost appends a link-down reading of point i: the device does not
// answer (see connectors.Reading.LinkDown).
func (s *session) emitLost(i int) {
	if s.lost == nil {
		s.lost = connectors.BadNoCommunication
	}
	s.emit(i, nil, s.lost)
	s.readings[len(s.readings)-1].LinkDown = true
}

// emitAllLost appends a link-down reading for every point of b.
func (s *session) emitAllLost(b block) {
	for _, i := range b.Points {
		s.emitLost(i)
	}
}

// poll reads every point once and returns the readings (valid until the
// next poll): exactly one per point, except for points whose read the
// device answered "busy".
func (s *session) poll(ctx context.Context) []connectors.Reading {
	s.readings = s.readings[:0]
	s.ioTime = 0
	s.sent = 0
	s.retried = false
	var fresh []int // points found misconfigured in this poll
	if !s.tr.connected() && !time.Now().Before(s.nextDial) {
		s.dial(ctx)
	}
	if s.needReplan && s.tr.connected() {
		s.replan()
		s.needReplan = false
	}
	queue := slices.Clone(s.plan)
	plan := s.plan[:0:0]
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		if ctx.Err() != nil {
			return nil
		}
		if !s.tr.connected() && (time.Now().Before(s.nextDial) || !s.dial(ctx)) {
			plan = append(plan, b)
			s.emitAllLost(b)
			continue
		}
		data, err := s.read(b)
		switch classify(err) {
		case errNone:
			s.answered()
			plan = append(plan, b)
			if err := s.decode(b, data); err != nil {
				err = fmt.Errorf("%s: %w", s.describe(b), err)
				s.failed(err)
				s.c.log.Warn("modbus response malformed; reconnecting", "err", err)
				s.tr.close()
				s.emitAll(b, connectors.BadDecodingError)
			}
		case errException:
			s.answered()
			code, err := s.exception(b, err)
			s.failed(err)
			status := exceptionStatus(code, err)
			switch {
			case refused(code) && len(b.Points) > 1:
				// Find the offending points: bisect the read.
				h1, h2 := split(s.c.regs, b)
				queue = append([]block{h1, h2}, queue...)
			case refused(code):
				p := b.Points[0]
				s.bad[p] = refusal{probed: time.Now(), status: status}
				fresh = append(fresh, p)
				s.c.mu.Lock()
				s.c.stats.BadPoints = len(s.bad)
				s.c.mu.Unlock()
				s.c.log.Warn("modbus point refused by the device", "point", s.c.cfg.Points[p], "err", err)
				s.emit(p, nil, status)
			case status == nil:
				plan = append(plan, b) // busy: retried next poll; no readings
			default:
				plan = append(plan, b)
				s.emitAll(b, status)
			}
		case errComm:
			s.tr.close()
			if ctx.Err() != nil {
				return nil
			}
			err = fmt.Errorf("%s: %w", s.describe(b), err)
			s.failed(err)
			if closedByPeer(err) && !s.retried && !s.outage {
				// Devices close idle connections: redial once at once.
				s.retried = true
				s.c.log.Debug("modbus connection closed by the device; redialing", "err", err)
				queue = append([]block{b}, queue...)
				continue
			}
			s.outage = true
			s.scheduleRedial()
			s.setState(connectors.Down, err)
			plan = append(plan, b)
			s.emitAllLost(b)
		case errProtocol:
			s.tr.close()
			err = fmt.Errorf("%s: %w", s.describe(b), err)
			s.failed(err)
			s.c.log.Warn("modbus response malformed; reconnecting", "err", err)
			plan = append(plan, b)
			s.emitAll(b, connectors.BadDecodingError)
		}
	}
	s.plan = plan
	s.probeBad(ctx, fresh)
	s.c.mu.Lock()
	s.c.health.Latency = s.ioTime
	s.c.mu.Unlock()
	return s.readings
}

// probeBad reports the misconfigured points not yet reported in this
// poll. It reads alone again each one whose reprobe interval has passed
// since it was last read and, when no other request went to the device
// in this poll, the one read longest ago: a device whose every point is
// refused is still asked something at every poll, so that its going
// silent shows as an outage. A point that now reads well goes back into
// the plan (and is reported with its value); the device has changed, so
// every other refused point is then read again too, in the same poll.
func (s *session) probeBad(ctx context.Context, fresh []int) {
	if len(s.bad) == 0 {
		return
	}
	pts := make([]int, 0, len(s.bad))
	for p := range s.bad {
		if !slices.Contains(fresh, p) {
			pts = append(pts, p)
		}
	}
	slices.Sort(pts)
	var probe []int
	if s.sent == 0 && len(pts) > 0 {
		live := slices.MinFunc(pts, func(a, b int) int { return s.bad[a].probed.Compare(s.bad[b].probed) })
		probe = append(probe, live)
	}
	for _, p := range pts {
		if time.Since(s.bad[p].probed) >= s.c.reprobe && !slices.Contains(probe, p) {
			probe = append(probe, p)
		}
	}
	done := probe[:0:0]
	for i := 0; i < len(probe); i++ {
		if ctx.Err() != nil {
			return
		}
		p := probe[i]
		emitted, back := s.probe(ctx, p)
		if emitted {
			done = append(done, p)
		}
		if back {
			for _, q := range pts {
				if !slices.Contains(probe, q) {
					probe = append(probe, q)
				}
			}
		}
	}
	for _, p := range pts {
		switch {
		case slices.Contains(done, p):
		case s.outage && !s.tr.connected():
			s.emitLost(p)
		default:
			s.emit(p, nil, s.bad[p].status)
		}
	}
	slices.SortStableFunc(s.plan, func(a, b block) int {
		if a.Table != b.Table {
			return int(a.Table) - int(b.Table)
		}
		return int(a.Start) - int(b.Start)
	})
	s.c.mu.Lock()
	s.c.stats.BadPoints = len(s.bad)
	s.c.mu.Unlock()
}

// probe reads the refused point p alone and emits its reading. It reports
// whether it emitted one (not when there is no connection to read on)
// and whether p read well and is back in the plan. Only
// an answer updates the point's probe time: a read that fails on the
// transport (the device closed an idle connection, or went away) is no
// refusal, so the point is read again after the redial, not a reprobe
// interval later. A connection closed by the device is redialed and the
// read retried at once, as in poll.
func (s *session) probe(ctx context.Context, p int) (emitted, back bool) {
	if !s.tr.connected() {
		return false, false
	}
	b := spanOf(s.c.regs, s.c.regs[p].Table, []int{p})
	data, err := s.read(b)
	if classify(err) == errComm && closedByPeer(err) && !s.retried && !s.outage && ctx.Err() == nil {
		s.tr.close()
		s.retried = true
		s.failed(fmt.Errorf("%s: %w", s.describe(b), err))
		s.c.log.Debug("modbus connection closed by the device; redialing", "err", err)
		if !s.dial(ctx) {
			return false, false
		}
		data, err = s.read(b)
	}
	switch classify(err) {
	case errNone:
		s.answered()
		if err := s.decode(b, data); err != nil {
			err = fmt.Errorf("%s: %w", s.describe(b), err)
			s.failed(err)
			s.c.log.Warn("modbus response malformed; reconnecting", "err", err)
			s.tr.close()
			s.emit(p, nil, connectors.BadDecodingError)
			return true, false
		}
		delete(s.bad, p)
		s.plan = append(s.plan, b)
		s.c.log.Info("modbus point readable again", "point", s.c.cfg.Points[p])
		return true, true
	case errException:
		s.answered()
		code, err := s.exception(b, err)
		s.failed(err)
		status := exceptionStatus(code, err)
		if refused(code) {
			s.bad[p] = refusal{probed: time.Now(), status: status}
		}
		if status != nil {
			s.emit(p, nil, status)
		}
	case errComm:
		s.tr.close()
		if ctx.Err() != nil {
			return false, false
		}
		err = fmt.Errorf("%s: %w", s.describe(b), err)
		s.failed(err)
		s.outage = true
		s.scheduleRedial()
		s.setState(connectors.Down, err)
		s.emitLost(p)
	case errProtocol:
		s.tr.close()
		err = fmt.Errorf("%s: %w", s.describe(b), err)
		s.failed(err)
		s.c.log.Warn("modbus response malformed; reconnecting", "err", err)
		s.emit(p, nil, connectors.BadDecodingError)
	}
	return true, false
}

// decode appends a reading for every point of b from the response data.
// A response of the wrong size is an error (nothing is appended).
func (s *session) decode(b block, data []byte) error {
	want := 2 * int(b.Count)
	if b.Table.IsBit() {
		want = (int(b.Count) + 7) / 8
	}
	if len(data) != want {
		return fmt.Errorf("%w: %d data bytes, want %d", errShort, len(data), want)
	}
	for _, i := range b.Points {
		r := s.c.regs[i]
		off := int(r.Address) - int(b.Start)
		if r.Table.IsBit() {
			s.emit(i, data[off/8]>>(off%8)&1 != 0, nil)
			continue
		}
		v, err := r.Decode(data[2*off:])
		if err != nil { // cannot happen: the size was checked
			s.emit(i, nil, connectors.BadDecodingError)
			continue
		}
		var status error
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			status = connectors.BadDecodingError // kept in Raw, but not a number
		}
		s.emit(i, v, status)
	}
	return nil
}
