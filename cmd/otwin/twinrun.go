package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
	"github.com/otwin/otwin/twin/clientlog"
	"github.com/otwin/otwin/twin/control"
	"github.com/otwin/otwin/twin/modbusserver"
	"github.com/otwin/otwin/twin/opcuaserver"
)

// twinConfig says where and how a twin serves its scenario.
type twinConfig struct {
	// Host every server binds.
	Host string
	// PortOffset is added to every non-zero port of the scenario.
	PortOffset int
	// Ephemeral serves every endpoint on a free port (machines that share a
	// port in the scenario still share one).
	Ephemeral bool
	// Control is the control endpoint's listen address ("" = host:0, "-" = none).
	Control string
	// DataDir keeps the OPC UA certificate and the control token's file.
	DataDir string
	// Modbus overrides the scenario's modbus settings (command-line flags).
	Modbus modbusFlags
	// HistoryRetention is the simulated time of history kept (0: the
	// engine's default).
	HistoryRetention time.Duration
	// OnEngine, when set, sees the engine and the client activity log
	// before any server serves (otwin test adds its checks' listener).
	OnEngine func(*twin.Engine, *clientlog.Log) error
	// OPCUA overrides the caps of the scenario's opcua settings
	// (command-line flags).
	OPCUA opcuaFlags
	// Token is the control API's token; empty makes a random one.
	Token string
	// Audit, when set, sees every call of the control API.
	Audit  func(control.Call)
	Logger *slog.Logger
}

// endpoint is one protocol server of a running twin, as the ready file
// lists it (one entry per machine).
type endpoint struct {
	Machine  string `json:"machine"`
	Protocol string `json:"protocol"`
	URL      string `json:"url,omitempty"`
	Address  string `json:"address,omitempty"`
	UnitID   int    `json:"unit_id,omitempty"`
	// Namespace is the OPC UA namespace URI of the machine's nodes.
	Namespace string `json:"namespace,omitempty"`
}

// runningTwin is an engine with its protocol servers and control endpoint.
type runningTwin struct {
	Scenario  *scenarios.Scenario
	Engine    *twin.Engine
	Alarms    *alarms.Set
	Endpoints []endpoint
	// ControlURL is "http://host:port", or "" without a control endpoint.
	ControlURL string
	// Clients is the servers' client activity log.
	Clients *clientlog.Log
	// ControlToken is the token every control call must carry.
	ControlToken string
	// TokenFile is where the token was written ("" when not).
	TokenFile string

	closers []func() error
	cancel  context.CancelFunc
	done    chan error
}

// serverPort is the port an endpoint of the scenario is served on: the
// scenario's port plus the offset, or a free one (0) when it gives none
// or the twin is ephemeral.
func serverPort(ep scenarios.Endpoint, cfg twinConfig) int {
	if ep.Port == 0 || cfg.Ephemeral {
		return 0
	}
	return ep.Port + cfg.PortOffset
}

// startTwin starts the engine, one server per endpoint group and the
// control endpoint. The twin runs until ctx is done or Close is called.
func startTwin(ctx context.Context, sc *scenarios.Scenario, cfg twinConfig) (_ *runningTwin, err error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mbSettings, err := cfg.Modbus.settings(sc.Modbus)
	if err != nil {
		return nil, err
	}
	uaSettings, err := cfg.OPCUA.settings(sc.OPCUA)
	if err != nil {
		return nil, err
	}
	eng, err := twin.New(sc, twin.Options{Logger: cfg.Logger, HistoryRetention: cfg.HistoryRetention})
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	set, err := alarms.New(eng, sc, alarms.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	rt := &runningTwin{Scenario: sc, Engine: eng, Alarms: set, cancel: cancel, done: make(chan error, 1)}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	rt.Clients = clientlog.New(clientlog.Options{Logger: cfg.Logger.With("part", "clients")})
	if cfg.OnEngine != nil {
		if err := cfg.OnEngine(eng, rt.Clients); err != nil {
			return nil, err
		}
	}
	machines := map[string]*scenarios.Machine{}
	for i := range sc.Machines {
		machines[sc.Machines[i].Name] = &sc.Machines[i]
	}
	for _, ep := range sc.Endpoints() {
		port := serverPort(ep, cfg)
		switch ep.Protocol {
		case scenarios.ProtocolOPCUA:
			oc := opcuaserver.DefaultConfig(ep.Machines...)
			oc.Host, oc.Port, oc.DataDir = cfg.Host, port, cfg.DataDir
			oc.Logger = cfg.Logger.With("server", "opcua")
			oc.ApplySettings(uaSettings)
			oc.Alarms = set
			srv, err := opcuaserver.New(opcuaserver.FromEngine(eng), oc)
			if err != nil {
				return nil, fmt.Errorf("opc ua endpoint of %v: %w", ep.Machines, err)
			}
			srv.SetObserver(rt.Clients)
			if err := srv.Start(rctx); err != nil {
				return nil, fmt.Errorf("opc ua endpoint of %v: %w", ep.Machines, err)
			}
			rt.closers = append(rt.closers, srv.Close)
			for _, m := range ep.Machines {
				rt.Endpoints = append(rt.Endpoints, endpoint{Machine: m, Protocol: ep.Protocol, URL: srv.URL(), Namespace: machines[m].OPCUA.Namespace})
			}
		case scenarios.ProtocolModbus:
			mc := modbusConfig(cfg, mbSettings, port, ep.Machines)
			mc.Alarms = set
			srv, err := modbusserver.New(eng, mc)
			if err != nil {
				return nil, fmt.Errorf("modbus endpoint of %v: %w", ep.Machines, err)
			}
			srv.SetObserver(rt.Clients)
			if err := srv.Start(rctx); err != nil {
				return nil, fmt.Errorf("modbus endpoint of %v: %w", ep.Machines, err)
			}
			rt.closers = append(rt.closers, srv.Close)
			for _, m := range ep.Machines {
				rt.Endpoints = append(rt.Endpoints, endpoint{Machine: m, Protocol: ep.Protocol, Address: srv.Addr(), UnitID: machines[m].Modbus.UnitID})
			}
		}
	}
	sort.SliceStable(rt.Endpoints, func(i, j int) bool {
		if rt.Endpoints[i].Machine != rt.Endpoints[j].Machine {
			return rt.Endpoints[i].Machine < rt.Endpoints[j].Machine
		}
		return rt.Endpoints[i].Protocol > rt.Endpoints[j].Protocol
	})
	if cfg.Control != "-" {
		addr := cfg.Control
		if addr == "" {
			addr = net.JoinHostPort(cfg.Host, "0")
		}
		if err := rt.setToken(cfg); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("control endpoint: %w", err)
		}
		clog := cfg.Logger.With("part", "control")
		audit := func(c control.Call) {
			if c.Refused != "" {
				clog.Warn("control call refused", "remote", c.Remote, "method", c.Method, "path", c.Path, "why", c.Refused)
			}
			if cfg.Audit != nil {
				cfg.Audit(c)
			}
		}
		h := control.RequireToken(rt.ControlToken, control.Handler(controlEngine{eng, set, rt.Clients}, clog), audit)
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		rt.ControlURL = "http://" + ln.Addr().String()
		rt.closers = append(rt.closers, func() error {
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			return hs.Shutdown(sctx)
		})
	}
	opcuaserver.LimitMemory(rctx.Done())
	go func() { rt.done <- eng.Run(rctx) }()
	return rt, nil
}

// tokenFileName is the control token's file in the data directory.
const tokenFileName = "control.token"

// setToken takes cfg's token or makes one, and writes it into the data
// directory (mode 0600) for the CLI of the same user.
func (rt *runningTwin) setToken(cfg twinConfig) error {
	rt.ControlToken = cfg.Token
	if rt.ControlToken == "" {
		t, err := control.NewToken()
		if err != nil {
			return err
		}
		rt.ControlToken = t
	}
	if cfg.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("control token: %w", err)
	}
	path := filepath.Join(cfg.DataDir, tokenFileName)
	if err := writeFileAtomic(path, []byte(rt.ControlToken+"\n")); err != nil {
		return fmt.Errorf("control token %s: %w", path, err)
	}
	rt.TokenFile = path
	return nil
}

// Done is closed with the engine's result when it stops.
func (rt *runningTwin) Done() <-chan error { return rt.done }

// Close stops the engine and every server.
func (rt *runningTwin) Close() error {
	rt.cancel()
	// Servers close in parallel: an OPC UA server takes seconds to close.
	errs := make([]error, len(rt.closers))
	var wg sync.WaitGroup
	for i, c := range rt.closers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c()
		}()
	}
	wg.Wait()
	rt.closers = nil
	if rt.Clients != nil {
		rt.Clients.Flush()
	}
	return errors.Join(errs...)
}

// localLine is a twin on loopback with the collector reading it over the
// wire through the twin's exported sources: what demo, ssh --scenario and
// workshop run in one process.
type localLine struct {
	Twin      *runningTwin
	Collector *collector
	// Control is a client of the twin's control API (the fault panel).
	Control *control.Client
}

// startLocalLine starts sc's twin on free loopback ports and builds the
// collector of its exported sources (not yet running: call
// Collector.Run), over the alert state (in memory when nil). The
// collector's time-driven rules hold while the twin's clock is paused.
// Every call of the twin's control API goes to audit (may be nil). Close
// stops the twin.
func startLocalLine(ctx context.Context, sc *scenarios.Scenario, dataDir string, state *alertState, audit func(control.Call), logger *slog.Logger) (_ *localLine, err error) {
	rt, err := startTwin(ctx, sc, twinConfig{Host: "127.0.0.1", Ephemeral: true, DataDir: dataDir, Audit: audit, Logger: logger.With("part", "twin")})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	col, err := newCollector(exportSources(sc, rt.Endpoints, exportBoth), dataDir, state, logger.With("part", "collector"))
	if err != nil {
		return nil, fmt.Errorf("exported sources: %w", err)
	}
	// The twin's values stand still while its clock is paused: no
	// frozen, stale or comm_loss timer runs meanwhile.
	col.paused = func() bool { return rt.Engine.Status().Paused }
	ctl, err := control.NewClient(rt.ControlURL, nil)
	if err != nil {
		return nil, err
	}
	ctl = ctl.WithToken(rt.ControlToken)
	return &localLine{Twin: rt, Collector: col, Control: ctl}, nil
}

// Close stops the twin and its servers.
func (l *localLine) Close() error { return l.Twin.Close() }
