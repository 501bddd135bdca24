// Package opcuaserver serves the twin's machines over OPC UA: one Server
// per endpoint (scenarios.Scenario.Endpoints groups the machines that
// share a port), values pushed from the engine on every change, and
// client writes passed to the engine.
//
// The address space mirrors the ISA-95 hierarchy, with the node ids of
// scenarios.OPCUAAddressSpace (the rule validate applies too): a folder
// (FolderType) per location level in use under Objects, an object per
// machine, a variable per tag. Each machine's nodes are in its own
// namespace, so the NamespaceArray of an endpoint holds every namespace of
// its machines. A tag with an engineering range is an AnalogItemType with
// EURange, others BaseDataVariableType; every tag with a unit has
// EngineeringUnits (UNECE code as UnitId, or -1 with the display name for
// a unit without one). Each template of the served machines is an
// ObjectType (subtype of BaseObjectType, in the scenario's types
// namespace) whose tags are InstanceDeclarations (ModellingRule
// Mandatory); its machines have it as type definition, their template
// tags carry the declarations' browse names, and the type lists its
// instances by inverse HasTypeDefinition references. Every node has a
// HasTypeDefinition.
//
// Access: anonymous sessions read (and write writable tags when
// Config.AnonymousWrite); users read, and write writable tags when
// User.Write. A refused write answers with its status code
// (Bad_UserAccessDenied, Bad_NotWritable, Bad_TypeMismatch,
// Bad_OutOfRange, ...) and is logged at info level with that name.
//
// The OPC UA stack is github.com/awcullen/opcua v1.4.0, and it never opens
// a socket here. The front door (package frontdoor) owns the listener on
// the configured host and port (0 = any free port), checks every Hello and
// chunk before the stack sees a byte, bounds the connections and applies
// the machines' transport faults: the largest Latency of the endpoint's
// machines delays every response, Down on all of them refuses and drops
// connections, a new Epoch on any of them drops open connections. Checked
// connections are served by this package's request loop (conn.go), built
// from the stack's unexported secure channel and service dispatch through
// linknames (backend.go), so the stack's own listener, which binds every
// interface and is crashed by one bad Hello, is never started; every
// decoded request passes through the loop, which revises it to the caps
// below before the stack handles it. That ties this package to the pinned
// library version (TestBackendPinned; a changed signature fails the
// build). GetEndpoints lists one endpoint per enabled security mode
// (Basic256Sha256 for the signed ones), each with the front door's URL.
//
// HistoryRead (history.go, aggregate.go, events.go): every served tag
// whose TagInfo.Historizing is set is a historizing Variable with the
// HistoryRead access bit, read raw and processed (Part 11, Part 13) from
// the history the engine computes (Source implementing HistorySource);
// events come from an EventHistory. Methods (methods.go): the machines'
// methods are Method nodes of their objects and of their templates'
// ObjectTypes, called through the engine (Source implementing
// MethodSource). Alarms and Conditions (alarms.go): the alarms of
// Config.Alarms on the served machines are conditions whose events reach
// subscribers of the machines, their folders and the Server object, and
// the event history; Acknowledge, Confirm, Reset and ConditionRefresh
// act on them.
//
// Close ends each session's connection with an ERR message
// (Bad_ServerHalted) and returns at once; the stack's own shutdown, which
// waits 3 s, runs on in the background.
//
// Known limits: signed modes accept any client certificate unless
// Config.TrustedDir is set; the stack cannot transfer subscriptions
// between sessions (TransferSubscriptions is unsupported).
//
// Delivery: the monitored items of tags are sampled on change
// (sampler.go): an item whose tag changed is sampled as the change
// arrives, unless it was already sampled in the current slot of its
// sampling interval (the interval's multiples of Unix time), and then at
// the start of the next slot with the latest value; so an item gets at
// most one sample per interval, the work follows the engine's changes and
// not the number of items times their sampling rate, and a busy machine
// that runs the sampler late does not lose a change to the next one.
// Items on other nodes stay with the stack's poller. Each round of samples
// is published at once when the client has a Publish request queued,
// rather than at the stack's next publish cycle, which on a busy machine
// can fall behind the next round, so that an item with a queue of one
// (node-opcua's default) would keep only the newer of two changes. When a
// response cannot carry every queued notification (the client's
// MaxNotificationsPerPublish: gopcua asks for 10,000), the stack sets
// MoreNotifications and would wait for the next publishing interval; the
// request loop sends the rest as soon as the client's next Publish request
// arrives, using every request the client has in flight. The stack's
// publish cycles walk only the items with something to send: the sampler
// takes the others out of the subscription's item map (park.go), so that
// neither the stack's cycle every publishing interval nor each further
// response after MoreNotifications walks the idle or already sent items.
// BenchmarkClientDefaults measures the share of the changes of 20k tags at
// 5 Hz and of 100k tags at 1 Hz that reach gopcua and node-opcua
// subscribers using their libraries' defaults, next to a node-opcua server
// with the same workload.
//
// Caps (Config, all settable in the scenario's opcua section and on the
// sim command line): connections per endpoint (MaxConnections; idle
// connections, those that have not opened a secure channel or have sent
// nothing for IdleAfter while waiting for no response, yield to new ones
// and refusals are logged as a rate, see package frontdoor); sessions
// (MaxSessions); the session timeout a client may ask for
// (MaxSessionTimeout, 2 min); how long a subscription outlives a client
// that stopped publishing (MaxSubscriptionLifetime, 2 min: keep-alive and
// lifetime counts are revised to fit, and the Publish requests queued on
// a closed connection are dropped so that the count starts at once); the
// subscriptions of a session that ended are deleted, since nobody could
// publish them again. A client that reconnects within its session timeout
// activates its session on the new secure channel and keeps it, with its
// subscriptions. Sampling intervals are revised up to the next of
// SamplingIntervals (100 ms to 60 s), so that however many distinct
// intervals clients ask for, at most that many samplers run. A client that
// reads nothing for SendTimeout (10 s) is disconnected.
//
// Memory: about 1 KB of heap per monitored item (the stack's item and its
// two queues, trimmed to what they hold: itemqueue.go). When sessions and
// subscriptions go (closed, timed out, expired), the janitor hands their
// memory back to the operating system within seconds instead of at the
// runtime's next forced collection, and LimitMemory keeps the heap close
// to what is live, so a 100k-tag twin serving a 100k-item subscriber stays
// near 0.6 GB.
package opcuaserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/opcuaserver/frontdoor"
)

// Source is what the server needs from the twin engine; FromEngine adapts
// a *twin.Engine. Its methods must be safe for concurrent use.
type Source interface {
	// Tags is the static tag list; TagInfo.Index is the handle.
	Tags() []twin.TagInfo
	// Machines is the static machine list.
	Machines() []twin.MachineInfo
	// Value is tag i's current value with faults applied.
	Value(i int) twin.Value
	// Write writes v to tag i as a client would; errors wrap the twin's
	// ErrNotWritable, ErrType, ErrOutOfRange or ErrUnknownTag.
	Write(i int, v any) error
	// Watch returns a new change notifier; the server closes it.
	Watch() Watcher
	// Link is the transport-fault state of machine's endpoint.
	Link(machine, protocol string) twin.Link
}

// Watcher notifies the server of changed tags (*twin.Watcher implements
// it).
type Watcher interface {
	// C is signalled after changes.
	C() <-chan struct{}
	// Changed appends the indexes changed since the last call.
	Changed(dst []int) []int
	// Close stops the notifications.
	Close()
}

// FromEngine adapts the twin engine to Source.
func FromEngine(e *twin.Engine) Source { return engineSource{e} }

type engineSource struct{ *twin.Engine }

func (e engineSource) Watch() Watcher { return e.Engine.Watch() }

// Transport limits: the door forwards chunks of at most maxChunkSize
// (the stack's receive buffer), the stack assembles requests of at most
// maxRequestSize.
const (
	maxChunkSize   = 65536
	maxRequestSize = 16 << 20
)

// ApplicationURI is the application URI of every twin OPC UA server; it is
// also the URI in the server certificate.
const ApplicationURI = "urn:otwin:twin:opcua"

// Server is one OPC UA endpoint of the twin. Its methods are safe for
// concurrent use.
type Server struct {
	cfg  Config
	src  Source
	log  *slog.Logger
	ua   *server.Server
	door *frontdoor.Door
	url  string
	ns   uint16

	machines []twin.MachineInfo
	all      []twin.TagInfo         // the source's tags, by engine tag index
	served   []int                  // engine indices of the served tags, in machine order
	nodes    []*server.VariableNode // by engine tag index; nil when not served
	writers  map[string]bool        // user name -> may write
	users    map[string]string      // user name -> password

	published atomic.Uint64
	// writeErrs holds the engine's reason for the write refused last in a
	// session, from the node's write handler to the request loop that
	// logs it (both run in the session's connection goroutine).
	writeErrs sync.Map      // *server.Session -> error
	obs       *observer     // client activity hook (observe.go), nil when none
	moreSent  atomic.Uint64 // publish cycles run early for MoreNotifications

	limits  limits
	sampler *sampler
	janitor *janitor

	mu       sync.Mutex
	started  bool
	closing  chan struct{}
	pumpDone chan struct{}
	once     sync.Once

	chMu     sync.Mutex
	channels map[*secureChannel]struct{} // open secure channels
	chClosed bool                        // Close began: no new channel

	// HistoryRead and methods (history.go, methods.go).
	hist    *historian
	events  *EventLog
	calls   MethodSource                   // nil: the source has no methods
	objects map[ua.NodeID]twin.MachineInfo // machine objects

	alarms *alarmFace // nil without Config.Alarms (alarms.go)
}

// New builds the address space of cfg.Machines from src and binds the
// listening socket (so URL is known), without serving yet. Errors name the
// machine, tag or address concerned.
func New(src Source, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("opc ua server config: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		src:      src,
		log:      cfg.Logger.With("component", "opcuaserver"),
		closing:  make(chan struct{}),
		writers:  make(map[string]bool),
		users:    make(map[string]string),
		channels: make(map[*secureChannel]struct{}),
	}
	s.limits = limits{sessionTimeout: cfg.MaxSessionTimeout, lifetime: cfg.MaxSubscriptionLifetime}
	s.janitor = newJanitor(s)
	for _, u := range cfg.Users {
		s.users[u.Name] = u.Password
		s.writers[u.Name] = u.Write
	}
	s.initExtensions()
	byName := make(map[string]twin.MachineInfo)
	for _, m := range src.Machines() {
		byName[m.Name] = m
	}
	var errs []error
	for _, name := range cfg.Machines {
		m, ok := byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown machine %q", name))
			continue
		}
		s.machines = append(s.machines, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opc ua server: %w", err)
	}

	door, err := frontdoor.Listen(frontdoor.Config{
		Addr:         net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		MaxConns:     cfg.MaxConnections,
		MaxChunkSize: maxChunkSize,
		HelloTimeout: cfg.HelloTimeout,
		SendTimeout:  cfg.SendTimeout,
		IdleAfter:    cfg.IdleAfter,
		WaitLimit:    cfg.MaxSubscriptionLifetime,
		Link:         s.link,
		Logger:       s.log,
	})
	if err != nil {
		return nil, err
	}
	s.door = door
	s.url = "opc.tcp://" + net.JoinHostPort(cfg.AdvertiseHost, strconv.Itoa(door.Addr().Port))
	s.log = s.log.With("endpoint", s.url)
	if err := s.build(); err != nil {
		door.Close()
		if s.ua != nil {
			// Not started: the stack's Close returns at once.
			_ = s.ua.Close()
			s.ua.WorkerPool().StopWait()
		}
		return nil, fmt.Errorf("opc ua server %s: %w", s.url, err)
	}
	return s, nil
}

// build creates the OPC UA stack and the address space.
func (s *Server) build() error {
	if err := s.newStack(); err != nil {
		return err
	}
	if err := s.populate(); err != nil {
		return err
	}
	s.sampler = newSampler(s.ua, s.nodes)
	return nil
}

// newStack creates the OPC UA stack with its certificate, security and
// identity settings.
func (s *Server) newStack() error {
	certPath, keyPath, err := ensureCertificate(s.cfg.DataDir, ApplicationURI, []string{s.cfg.Host, s.cfg.AdvertiseHost})
	if err != nil {
		return fmt.Errorf("certificate in %s: %w", s.cfg.DataDir, err)
	}
	modes := map[string]bool{}
	for _, m := range s.cfg.Security {
		modes[m] = true
	}
	opts := []server.Option{
		server.WithBuildInfo(ua.BuildInfo{
			ProductURI:       "https://github.com/otwin/otwin",
			ManufacturerName: "otwin",
			ProductName:      "otwin twin",
			SoftwareVersion:  "1",
			BuildDate:        time.Now(),
		}),
		server.WithSecurityPolicyNone(modes[SecurityNone]),
		server.WithMaxSessionCount(uint32(s.cfg.MaxSessions)),
		server.WithMaxSubscriptionCount(uint32(s.cfg.MaxSubscriptions)),
		server.WithGetRolesFunc(s.roles),
		server.WithServerDiagnostics(false),
		// Requests of at most 16 MiB (the library allows 64 MiB per
		// connection), in chunks no larger than the door lets through.
		server.WithTransportLimits(maxChunkSize, maxRequestSize, maxRequestSize/maxChunkSize),
	}
	opts = append(opts, s.historyOptions()...)
	if s.cfg.TrustedDir != "" {
		opts = append(opts, server.WithTrustedCertificatesPaths(s.cfg.TrustedDir, ""))
	} else {
		opts = append(opts, server.WithInsecureSkipVerify())
	}
	if s.cfg.Anonymous {
		opts = append(opts, server.WithAuthenticateAnonymousIdentityFunc(
			func(ua.AnonymousIdentity, string, string) error { return nil }))
	} else {
		opts = append(opts, server.WithAnonymousIdentity(false))
	}
	if len(s.users) > 0 {
		opts = append(opts, server.WithAuthenticateUserNameIdentityFunc(s.authenticate))
	}
	srv, err := server.New(ua.ApplicationDescription{
		ApplicationURI:  ApplicationURI,
		ProductURI:      "https://github.com/otwin/otwin",
		ApplicationName: ua.NewLocalizedText("otwin twin", "en"),
		ApplicationType: ua.ApplicationTypeServer,
		DiscoveryURLs:   []string{s.url},
	}, certPath, keyPath, unservedURL, opts...)
	if err != nil {
		return fmt.Errorf("create stack: %w", err)
	}
	s.ua = srv
	s.historyCapabilities()
	if err := serveDiagnosticsSummary(srv); err != nil {
		return err
	}
	return restrictEndpoints(srv, s.url, modes)
}

// populate adds the folders, machines and tags of the served machines,
// each machine in its own namespace, and the ObjectTypes of their
// templates.
func (s *Server) populate() error {
	all := s.src.Tags()
	s.all = all
	s.hist.all = all
	s.nodes = make([]*server.VariableNode, len(all))
	as := newAddressSpace(s.ua, time.Now())
	as.owner = s
	for k, m := range s.machines {
		ns := s.cfg.Namespace
		if m.OPCUA != nil && m.OPCUA.Namespace != "" {
			ns = m.OPCUA.Namespace
		}
		if k == 0 {
			s.ns = s.ua.NamespaceManager().Add(ns)
		}
		tags := make([]twin.TagInfo, 0, len(m.Tags))
		vals := make([]twin.Value, 0, len(m.Tags))
		for _, i := range m.Tags {
			if i < 0 || i >= len(all) {
				return fmt.Errorf("machine %s: tag index %d out of range", m.Name, i)
			}
			tags = append(tags, all[i])
			vals = append(vals, s.src.Value(i))
		}
		vars, err := as.addMachine(m, ns, tags, vals)
		if err != nil {
			return fmt.Errorf("machine %s: %w", m.Name, err)
		}
		for k, t := range tags {
			if t.Writable {
				vars[k].SetWriteValueHandler(s.writeHandler(t))
			}
			s.nodes[t.Index] = vars[k]
			s.served = append(s.served, t.Index)
		}
	}
	if err := s.alarmSpace(as); err != nil {
		return err
	}
	if err := s.ua.NamespaceManager().AddNodes(as.nodes()...); err != nil {
		return fmt.Errorf("add nodes: %w", err)
	}
	return nil
}

// restrictEndpoints sets the stack's endpoint descriptions to the enabled
// security modes, once each, every one advertising url: None when enabled,
// and Basic256Sha256 for the signed modes enabled. A channel opened with
// any other policy or mode finds no endpoint, and its session cannot be
// activated.
func restrictEndpoints(srv *server.Server, url string, modes map[string]bool) error {
	var keep []ua.EndpointDescription
	for _, ep := range srv.Endpoints() {
		ok := false
		switch {
		case ep.SecurityMode == ua.MessageSecurityModeNone:
			ok = modes[SecurityNone]
		case ep.SecurityPolicyURI != ua.SecurityPolicyURIBasic256Sha256:
		case ep.SecurityMode == ua.MessageSecurityModeSign:
			ok = modes[SecuritySign]
		case ep.SecurityMode == ua.MessageSecurityModeSignAndEncrypt:
			ok = modes[SecuritySignEncrypt]
		}
		if ok {
			ep.EndpointURL = url
			keep = append(keep, ep)
		}
	}
	if len(keep) == 0 {
		return errors.New("no endpoint left for the configured security modes")
	}
	return setEndpoints(srv, keep)
}

// Roles handed to the stack; shared and never modified, so that GetRoles,
// which runs twice per read and per sample, does not allocate.
var (
	rolesAnonymous      = []ua.NodeID{ua.ObjectIDWellKnownRoleAnonymous}
	rolesAnonymousWrite = []ua.NodeID{ua.ObjectIDWellKnownRoleAnonymous, ua.ObjectIDWellKnownRoleOperator}
	rolesReader         = []ua.NodeID{ua.ObjectIDWellKnownRoleAuthenticatedUser, ua.ObjectIDWellKnownRoleObserver}
	rolesWriter         = []ua.NodeID{ua.ObjectIDWellKnownRoleAuthenticatedUser, ua.ObjectIDWellKnownRoleObserver, ua.ObjectIDWellKnownRoleOperator}
)

// roles maps an identity to its roles: writers get Operator (the default
// role permissions give Write to Operator only).
func (s *Server) roles(identity any, _ string, _ string) ([]ua.NodeID, error) {
	switch id := identity.(type) {
	case ua.AnonymousIdentity:
		if s.cfg.AnonymousWrite {
			return rolesAnonymousWrite, nil
		}
		return rolesAnonymous, nil
	case ua.UserNameIdentity:
		if s.writers[id.UserName] {
			return rolesWriter, nil
		}
		return rolesReader, nil
	}
	return nil, ua.BadUserAccessDenied
}

// authenticate checks a user name and password. The stack requires a
// ua.StatusCode as error.
func (s *Server) authenticate(id ua.UserNameIdentity, _ string, _ string) error {
	want, ok := s.users[id.UserName]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(id.Password)) != 1 {
		s.log.Warn("opc ua login refused", "user", id.UserName)
		return ua.BadUserAccessDenied
	}
	return nil
}

// writeHandler passes client writes of tag t to the engine. The stack
// calls it once the node's access, the session's write right and the
// value's type are checked; an engine refusal is kept for the request
// loop's log (see write).
func (s *Server) writeHandler(t twin.TagInfo) func(*server.Session, ua.WriteValue) (ua.DataValue, ua.StatusCode) {
	return func(sess *server.Session, wv ua.WriteValue) (ua.DataValue, ua.StatusCode) {
		if wv.IndexRange != "" {
			return ua.NilDataValue, ua.BadIndexRangeInvalid
		}
		v := wv.Value.Value
		if v == nil {
			return ua.NilDataValue, ua.BadTypeMismatch
		}
		if err := s.src.Write(t.Index, v); err != nil {
			s.writeErrs.Store(sess, err)
			return ua.NilDataValue, writeStatus(err)
		}
		now := time.Now()
		return ua.NewDataValue(v, ua.Good, now, 0, now, 0), ua.Good
	}
}

// writeStatus maps an engine write error to a status code.
func writeStatus(err error) ua.StatusCode {
	switch {
	case errors.Is(err, twin.ErrNotWritable):
		return ua.BadNotWritable
	case errors.Is(err, twin.ErrType):
		return ua.BadTypeMismatch
	case errors.Is(err, twin.ErrOutOfRange):
		return ua.BadOutOfRange
	case errors.Is(err, twin.ErrUnknownTag):
		return ua.BadNodeIDUnknown
	}
	return ua.BadInternalError
}

// link combines the transport faults of the endpoint's machines: down
// when every machine is down, the largest latency, an epoch that changes
// whenever any machine's does.
func (s *Server) link() frontdoor.Link {
	l := frontdoor.Link{Down: len(s.machines) > 0}
	for _, m := range s.machines {
		ml := s.src.Link(m.Name, "opcua")
		l.Down = l.Down && ml.Down
		l.Latency = max(l.Latency, ml.Latency)
		l.Epoch += ml.Epoch
	}
	return l
}

// URL is the endpoint URL, opc.tcp://<AdvertiseHost>:<actual port>.
func (s *Server) URL() string { return s.url }

// NamespaceIndex is the index in the server's NamespaceArray of the
// namespace of the first machine served (the only one when the machines
// share a namespace).
func (s *Server) NamespaceIndex() uint16 { return s.ns }

// Namespaces is the server's NamespaceArray: OPC UA's own, the server's,
// then each served machine's namespace and the templates' types namespace
// in order of first use.
func (s *Server) Namespaces() []string { return s.ua.NamespaceUris() }

// Tags returns the tags served, in machine then scenario order.
func (s *Server) Tags() []twin.TagInfo {
	out := make([]twin.TagInfo, len(s.served))
	for k, i := range s.served {
		out[k] = s.all[i]
	}
	return out
}

// Published is the number of value updates pushed into the address space.
func (s *Server) Published() uint64 { return s.published.Load() }

// ConnStats returns the front door's connection counters.
func (s *Server) ConnStats() frontdoor.Stats { return s.door.Stats() }

// Start starts serving clients and pushing engine changes into the address
// space; it returns once clients can connect. Cancelling ctx closes the
// server. Calling Start twice or after Close is an error.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return errors.New("opc ua server " + s.url + ": closed")
	default:
	}
	if s.started {
		return errors.New("opc ua server " + s.url + ": already started")
	}
	// ListenAndServe cannot parse unservedURL's port: it marks the stack
	// running and returns without opening a socket.
	if err := s.ua.ListenAndServe(); !errors.Is(err, ua.BadTCPEndpointURLInvalid) {
		return fmt.Errorf("opc ua server %s: stack did not start: %v", s.url, err)
	}
	if st := s.ua.State(); st != ua.ServerStateRunning {
		return fmt.Errorf("opc ua server %s: stack state %d, want running", s.url, st)
	}
	s.started = true
	w := s.src.Watch()
	s.pumpDone = make(chan struct{})
	s.refreshAll()
	go s.pump(ctx, w)
	s.startAlarms(ctx)
	s.door.Start(s.serveConn)
	go s.janitor.run(s.closing)
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.closing:
		}
	}()
	s.log.Info("opc ua server started", "machines", len(s.machines), "tags", len(s.served))
	return nil
}

// pump pushes changed values until ctx is done or the server closes.
func (s *Server) pump(ctx context.Context, w Watcher) {
	defer close(s.pumpDone)
	defer w.Close()
	var changed []int
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-w.C():
		}
		changed = w.Changed(changed[:0])
		s.publish(changed)
	}
}

// publish pushes the current values of tags idx into their nodes, with
// the engine's status and source timestamp and now as server timestamp.
func (s *Server) publish(idx []int) {
	now := time.Now()
	var n uint64
	for _, i := range idx {
		if i < 0 || i >= len(s.nodes) || s.nodes[i] == nil {
			continue
		}
		v := s.src.Value(i)
		s.nodes[i].SetValue(ua.NewDataValue(v.V, ua.StatusCode(v.Status), v.Source, 0, now, 0))
		n++
	}
	s.sampler.mark(idx)
	s.published.Add(n)
}

func (s *Server) refreshAll() {
	s.publish(s.served) // read only
}

// Close ends every session's connection with an ERR message
// (Bad_ServerHalted) and closes it, stops listening and stops the updates;
// it returns once no client is served any more. The stack's own shutdown,
// which waits 3 s for clients that are gone by then, finishes in the
// background. Close is idempotent and always returns nil.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.closing)
		started := s.started
		s.mu.Unlock()
		s.abortChannels(ua.BadServerHalted, closeGrace)
		_ = s.door.Close()
		s.hist.cps.closeAll()
		if started {
			<-s.pumpDone
		}
		if s.ua != nil {
			go func() {
				_ = s.ua.Close()
				s.ua.WorkerPool().StopWait()
			}()
		}
		if s.sampler != nil {
			s.sampler.close()
		}
		s.log.Info("opc ua server closed")
	})
	return nil
}

// closeGrace bounds the wait for the ERR messages Close sends.
const closeGrace = 100 * time.Millisecond
