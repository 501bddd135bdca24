package opcua

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/uaapp"
)

// defaultOpLimit caps nodes per Read/Browse and monitored items per
// CreateMonitoredItems when the server states no lower limit.
const defaultOpLimit = 1000

// errNoData is the watchdog's cause for dropping a silent connection.
var errNoData = errors.New("no data, keep-alive or response within timeout")

// item is one point read in a session.
type item struct {
	ref   string // the address (Reading.Address)
	id    *ua.NodeID
	state *pointState
	// info is sent with the item's first reading of the session.
	info *connectors.PointInfo
	path string
	// bad is set when the server refused the item; it gets no values.
	bad bool
	// browsed is set on a variable found below the browse root that is
	// not a configured point.
	browsed bool
}

// session is one connection: from connect to loss.
type session struct {
	c *Connector
	// parent is Run's context: done means a clean shutdown.
	parent context.Context
	cl     *opcua.Client
	out    chan<- connectors.Reading
	ns     []string

	items []*item

	maxRead, maxBrowse, maxMonitor int

	// waitingSince is when the outstanding main-loop request was sent
	// (unix nanoseconds); 0 when none is outstanding.
	waitingSince atomic.Int64

	// ext is the session's state for alarms and history (events.go).
	ext sessionExt
	// publishing says the Publish requests run: then the watchdog waits
	// on lastHeard, the last Publish response (unix nanoseconds).
	publishing atomic.Bool
	lastHeard  atomic.Int64
}

// runSession connects once and reads until the connection fails or ctx
// ends. connected says the session got as far as an open session.
func (c *Connector) runSession(ctx context.Context, out chan<- connectors.Reading) (connected bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	cl, err := c.dial(sctx)
	if err != nil {
		return false, err
	}
	defer func() {
		// After a failure the link is dead or silent: closing it politely
		// would only delay the no-communication readings, so it happens
		// in the background (Run waits for it before returning), and is
		// given the whole timeout: a server that was only slow then
		// drops the session's subscriptions at once instead of serving
		// them, beside the next session's, until the session times out.
		// A shutdown (ctx done) cuts that wait short.
		closeClient := func(parent context.Context, wait time.Duration) {
			cctx, ccancel := context.WithTimeout(parent, wait)
			_ = cl.Close(cctx)
			ccancel()
		}
		if ctx.Err() != nil {
			closeClient(context.Background(), time.Second)
			return
		}
		c.bg.Add(1)
		go func() {
			defer c.bg.Done()
			closeClient(ctx, max(c.cfg.Timeout, time.Second))
		}()
	}()

	if c.connected {
		c.update(func(h *connectors.Health) { h.Reconnects++ })
	}
	c.connected = true
	c.down = false
	c.setState(connectors.Connected, nil)
	c.log.Info("connected")

	s := &session{c: c, parent: ctx, cl: cl, out: out, ns: cl.Namespaces()}
	defer s.unready()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchdog(sctx, cancel)
	}()
	if !c.cfg.Poll {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.heartbeat(sctx)
		}()
	}

	err = s.run(sctx)
	if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
		err = cause
	}
	return true, err
}

// dial finds the endpoint, checks its certificate and opens a session.
func (c *Connector) dial(ctx context.Context) (*opcua.Client, error) {
	cfg := c.cfg
	return uaapp.Client{
		URL: cfg.URL, Timeout: cfg.Timeout,
		SecurityPolicy: cfg.SecurityPolicy, SecurityMode: cfg.SecurityMode,
		Username: cfg.Username, Password: cfg.Password,
		AppName: "otwin", AppURI: applicationURI(cfg.Name), SessionName: "otwin " + cfg.Name,
		Cert: c.certDER, Key: c.key,
		Unlisted: true, Check: c.checkEndpoint, Logger: c.log,
	}.Dial(ctx)
}

// checkEndpoint checks a secure endpoint's server certificate against
// the trust dir; without one it accepts it, and says so once.
func (c *Connector) checkEndpoint(ep *ua.EndpointDescription) error {
	if !c.cfg.secure() {
		return nil
	}
	if c.cfg.TrustDir == "" {
		if !c.warnedTrust {
			c.warnedTrust = true
			c.log.Warn("server certificates accepted without verification (no trust_dir)")
		}
		return nil
	}
	trusted, err := loadTrusted(c.cfg.TrustDir)
	if err != nil {
		return err
	}
	return checkTrusted(ep.ServerCertificate, trusted)
}

// watchdog drops the connection when a main-loop request stays
// unanswered for longer than the timeout, or, once the Publish requests
// run, when none is answered for that long (keep-alives come every
// timeout/3).
func (s *session) watchdog(ctx context.Context, cancel context.CancelCauseFunc) {
	timeout := s.c.cfg.Timeout
	tick := time.NewTicker(max(timeout/8, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			since := s.waitingSince.Load()
			if s.publishing.Load() {
				since = max(since, s.lastHeard.Load())
			}
			if since != 0 && now.Sub(time.Unix(0, since)) > timeout {
				cancel(fmt.Errorf("%w (%v)", errNoData, timeout))
				return
			}
		}
	}
}

// heartbeat reads the server's clock now and then to measure latency in
// subscription mode (a publish round trip includes the server's wait).
func (s *session) heartbeat(ctx context.Context) {
	period := max(s.c.cfg.Timeout/3, s.c.cfg.PublishingInterval)
	t := time.NewTicker(period)
	defer t.Stop()
	req := &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), AttributeID: ua.AttributeIDValue}},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	}
	for {
		start := time.Now()
		if _, err := s.cl.Read(ctx, req); err == nil {
			rtt := time.Since(start)
			s.c.update(func(h *connectors.Health) { h.Latency = rtt })
		} else if ctx.Err() == nil {
			s.c.log.Debug("heartbeat read failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// begin and end bracket a main-loop request for the watchdog.
func (s *session) begin() { s.waitingSince.Store(time.Now().UnixNano()) }
func (s *session) end()   { s.waitingSince.Store(0) }

// run resolves, browses, reads point info, then subscribes or polls.
func (s *session) run(ctx context.Context) error {
	s.readLimits(ctx)
	if err := s.resolve(ctx); err != nil {
		return err
	}
	if s.c.root != nil {
		if err := s.browse(ctx); err != nil {
			return err
		}
	}
	if err := s.readInfo(ctx); err != nil {
		return err
	}
	s.ready()
	if s.c.cfg.Poll {
		return s.poll(ctx)
	}
	return s.subscribe(ctx)
}

// readLimits reads the server's operation limits; failures keep the
// defaults.
func (s *session) readLimits(ctx context.Context) {
	s.maxRead, s.maxBrowse, s.maxMonitor = defaultOpLimit, defaultOpLimit, defaultOpLimit
	ids := []uint32{
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse,
		id.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
	}
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, n := range ids {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: ua.NewNumericNodeID(0, n), AttributeID: ua.AttributeIDValue})
	}
	s.begin()
	start := time.Now()
	res, err := s.cl.Read(ctx, req)
	s.end()
	if err != nil || len(res.Results) != len(ids) {
		return
	}
	rtt := time.Since(start)
	s.c.update(func(h *connectors.Health) { h.Latency = rtt })
	dst := []*int{&s.maxRead, &s.maxBrowse, &s.maxMonitor}
	for i, dv := range res.Results {
		if dv == nil || dv.Status != ua.StatusOK || dv.Value == nil {
			continue
		}
		if v, ok := convertValue(dv.Value.Value()); ok {
			if u, ok := v.(uint64); ok && u > 0 && u < defaultOpLimit {
				*dst[i] = int(u)
			}
		}
	}
}

// resolve maps the configured nodes to node ids in this session's
// namespace array; a node whose namespace is missing gets a
// Bad_NodeIdUnknown reading and is left out.
func (s *session) resolve(ctx context.Context) error {
	for i, ref := range s.c.nodes {
		addr := s.c.cfg.Nodes[i]
		st := s.c.point(addr)
		nid, err := ref.resolve(s.ns)
		if err != nil {
			s.c.log.Warn("node not resolved", "node", addr, "err", err)
			r := connectors.Reading{Source: s.c.cfg.Name, Address: addr, Status: connectors.BadNodeIDUnknown, Received: time.Now()}
			if !s.c.emit(ctx, s.out, r) {
				return ctx.Err()
			}
			continue
		}
		s.items = append(s.items, &item{ref: addr, id: nid, state: st})
	}
	return nil
}

// read sends a Read of nodes in batches of the server's limit.
func (s *session) read(ctx context.Context, nodes []*ua.ReadValueID, ts ua.TimestampsToReturn) ([]*ua.DataValue, error) {
	out := make([]*ua.DataValue, 0, len(nodes))
	for len(nodes) > 0 {
		n := min(len(nodes), s.maxRead)
		req := &ua.ReadRequest{NodesToRead: nodes[:n], TimestampsToReturn: ts}
		s.begin()
		start := time.Now()
		res, err := s.cl.Read(ctx, req)
		s.end()
		if err != nil {
			return nil, err
		}
		rtt := time.Since(start)
		s.c.update(func(h *connectors.Health) { h.Latency = rtt })
		if len(res.Results) != n {
			return nil, fmt.Errorf("read: %d results for %d nodes", len(res.Results), n)
		}
		out = append(out, res.Results...)
		nodes = nodes[n:]
	}
	return out, nil
}

// readInfo reads each item's attributes and its EngineeringUnits and
// EURange properties into item.info.
func (s *session) readInfo(ctx context.Context) error {
	if len(s.items) == 0 {
		return nil
	}
	attrs := []ua.AttributeID{ua.AttributeIDDisplayName, ua.AttributeIDDescription, ua.AttributeIDDataType, ua.AttributeIDAccessLevel}
	nodes := make([]*ua.ReadValueID, 0, len(s.items)*len(attrs))
	for _, it := range s.items {
		for _, a := range attrs {
			nodes = append(nodes, &ua.ReadValueID{NodeID: it.id, AttributeID: a})
		}
	}
	res, err := s.read(ctx, nodes, ua.TimestampsToReturnNeither)
	if err != nil {
		return fmt.Errorf("read attributes: %w", err)
	}
	for i, it := range s.items {
		info := &connectors.PointInfo{BrowsePath: it.path}
		for j, a := range attrs {
			dv := res[i*len(attrs)+j]
			if dv == nil || dv.Status != ua.StatusOK || dv.Value == nil {
				continue
			}
			switch v := dv.Value.Value().(type) {
			case *ua.LocalizedText:
				if v == nil {
					break
				}
				if a == ua.AttributeIDDisplayName {
					info.DisplayName = v.Text
				} else if a == ua.AttributeIDDescription {
					info.Description = v.Text
				}
			case *ua.NodeID:
				info.DataType = dataTypeName(v)
			case *ua.ExpandedNodeID:
				if v != nil {
					info.DataType = dataTypeName(v.NodeID)
				}
			case uint8:
				info.Writable = ua.AccessLevelType(v)&ua.AccessLevelTypeCurrentWrite != 0
			}
		}
		it.info = info
	}
	return s.readProperties(ctx)
}

// readProperties finds and reads the EngineeringUnits and EURange
// properties of every item.
func (s *session) readProperties(ctx context.Context) error {
	type prop struct {
		it   *item
		name string
	}
	var props []prop
	var propNodes []*ua.ReadValueID
	ids := make([]*ua.NodeID, len(s.items))
	for i, it := range s.items {
		ids[i] = it.id
	}
	results, err := s.browseNodes(ctx, ids, ua.BrowseDirectionForward, id.HasProperty, ua.NodeClassVariable)
	if err != nil {
		return fmt.Errorf("browse properties: %w", err)
	}
	for i, refs := range results {
		for _, ref := range refs {
			if ref == nil || ref.BrowseName == nil || ref.NodeID == nil || ref.NodeID.NodeID == nil {
				continue
			}
			switch ref.BrowseName.Name {
			case "EngineeringUnits", "EURange":
				props = append(props, prop{it: s.items[i], name: ref.BrowseName.Name})
				propNodes = append(propNodes, &ua.ReadValueID{NodeID: ref.NodeID.NodeID, AttributeID: ua.AttributeIDValue})
			}
		}
	}
	if len(propNodes) == 0 {
		return nil
	}
	res, err := s.read(ctx, propNodes, ua.TimestampsToReturnNeither)
	if err != nil {
		return fmt.Errorf("read properties: %w", err)
	}
	for i, p := range props {
		dv := res[i]
		if dv == nil || dv.Status != ua.StatusOK || dv.Value == nil || p.it.info == nil {
			continue
		}
		eo, ok := dv.Value.Value().(*ua.ExtensionObject)
		if !ok || eo == nil {
			continue
		}
		switch v := eo.Value.(type) {
		case *ua.EUInformation:
			p.it.info.HasUnit = true
			p.it.info.UnitID = v.UnitID
			if v.DisplayName != nil {
				p.it.info.UnitSymbol = v.DisplayName.Text
			}
		case *ua.Range:
			p.it.info.HasRange = true
			p.it.info.Low, p.it.info.High = v.Low, v.High
		}
	}
	return nil
}

// deliver sends one value of it, dropping values older than one already
// delivered for the address.
func (s *session) deliver(ctx context.Context, it *item, dv *ua.DataValue) bool {
	f := fromDataValue(dv)
	// Order by the server's timestamp when the value has one: the server
	// stamps each change as it takes it, while a device's clock may step
	// back (a value stamped earlier than the last one is then still new,
	// and its skew must show, not vanish). Values without a server time are
	// ordered by their source time. The two clocks are never compared.
	key, last := f.serverTime, &it.state.lastServer
	if key.IsZero() {
		key, last = f.sourceTime, &it.state.lastSource
	}
	if !key.IsZero() {
		if key.Before(*last) {
			s.c.outOfOrder.Add(1)
			s.c.log.Debug("out-of-order value dropped", "node", it.ref, "time", key, "last", *last)
			return true
		}
		*last = key
	}
	if f.status == connectors.BadTypeMismatch {
		s.c.typeErrors.Add(1)
		s.c.log.Debug("value type not convertible", "node", it.ref, "type", describeUnconvertible(dv))
	}
	r := connectors.Reading{
		Source:     s.c.cfg.Name,
		Address:    it.ref,
		Raw:        f.raw,
		Status:     f.status,
		SourceTime: f.sourceTime,
		ServerTime: f.serverTime,
		Received:   time.Now(),
		Info:       it.info,
	}
	it.info = nil
	return s.c.emit(ctx, s.out, r)
}

// poll reads every item each PollInterval.
func (s *session) poll(ctx context.Context) error {
	nodes := make([]*ua.ReadValueID, len(s.items))
	for i, it := range s.items {
		nodes[i] = &ua.ReadValueID{NodeID: it.id, AttributeID: ua.AttributeIDValue}
	}
	t := time.NewTicker(s.c.cfg.PollInterval)
	defer t.Stop()
	for {
		if len(nodes) > 0 {
			res, err := s.read(ctx, nodes, ua.TimestampsToReturnBoth)
			if err != nil {
				return fmt.Errorf("poll: %w", err)
			}
			for i, dv := range res {
				if !s.deliver(ctx, s.items[i], dv) {
					return ctx.Err()
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// assign stores a response of the expected type.
func assign[T ua.Response](r ua.Response, dst *T) error {
	v, ok := r.(T)
	if !ok {
		return fmt.Errorf("unexpected response %T", r)
	}
	*dst = v
	return nil
}
