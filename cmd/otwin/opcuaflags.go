package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/scenarios"
)

// opcuaFlags are the command-line overrides of the caps in the scenario's
// opcua section; a flag left out keeps the scenario's value.
type opcuaFlags struct {
	fs                   *pflag.FlagSet
	maxConns             int
	maxSessions          int
	idleAfter            time.Duration
	sessionTimeout       time.Duration
	subscriptionLifetime time.Duration
}

// opcuaFlagNames maps each flag to the scenario field it overrides.
var opcuaFlagNames = map[string]string{
	"opcua-max-conns":             "max_connections",
	"opcua-max-sessions":          "max_sessions",
	"opcua-idle-after":            "idle_after",
	"opcua-session-timeout":       "max_session_timeout",
	"opcua-subscription-lifetime": "max_subscription_lifetime",
}

func (o *opcuaFlags) register(f *pflag.FlagSet) {
	o.fs = f
	f.IntVar(&o.maxConns, "opcua-max-conns", 0,
		fmt.Sprintf("connections each OPC UA endpoint holds at once, 1-%d (default: the scenario's opcua.max_connections, else 64)", scenarios.MaxOPCUAConnections))
	f.IntVar(&o.maxSessions, "opcua-max-sessions", 0,
		fmt.Sprintf("sessions each OPC UA endpoint holds at once, 1-%d (default: the scenario's opcua.max_sessions, else 100)", scenarios.MaxOPCUASessions))
	f.DurationVar(&o.idleAfter, "opcua-idle-after", 0,
		"silence after which an OPC UA connection may lose its slot to a new one (default: the scenario's opcua.idle_after, else 10s)")
	f.DurationVar(&o.sessionTimeout, "opcua-session-timeout", 0,
		"longest OPC UA session timeout granted, 10s-1h (default: the scenario's opcua.max_session_timeout, else 2m)")
	f.DurationVar(&o.subscriptionLifetime, "opcua-subscription-lifetime", 0,
		"longest an OPC UA subscription outlives a silent client, 10s-1h (default: the scenario's opcua.max_subscription_lifetime, else 2m)")
}

// settings applies the flags given over the scenario's settings.
func (o opcuaFlags) settings(s scenarios.OPCUASettings) (scenarios.OPCUASettings, error) {
	if o.fs == nil {
		return s, nil
	}
	changed := func(name string) bool { return o.fs.Changed(name) }
	if changed("opcua-max-conns") {
		s.MaxConnections = o.maxConns
	}
	if changed("opcua-max-sessions") {
		s.MaxSessions = o.maxSessions
	}
	if changed("opcua-idle-after") {
		s.IdleAfter = scenarios.Duration(o.idleAfter)
	}
	if changed("opcua-session-timeout") {
		s.MaxSessionTimeout = scenarios.Duration(o.sessionTimeout)
	}
	if changed("opcua-subscription-lifetime") {
		s.MaxSubscriptionLifetime = scenarios.Duration(o.subscriptionLifetime)
	}
	byField := map[string]string{}
	for flag, field := range opcuaFlagNames {
		byField[field] = flag
	}
	bad := scenarios.CheckOPCUALimits(s, func(field string) bool { return changed(byField[field]) })
	var errs []error
	for _, field := range slices.Sorted(maps.Keys(bad)) {
		flag := byField[field]
		errs = append(errs, fmt.Errorf("--%s %s %s", flag, o.fs.Lookup(flag).Value, bad[field]))
	}
	return s, errors.Join(errs...)
}
