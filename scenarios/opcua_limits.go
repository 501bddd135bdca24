package scenarios

import (
	"maps"
	"slices"
	"time"
)

// Bounds of the caps in OPCUASettings (MaxConnections, MaxSessions,
// MaxSessionTimeout, MaxSubscriptionLifetime).
const (
	MaxOPCUAConnections = 10000
	MaxOPCUASessions    = 10000
	MinOPCUATimeout     = 10 * time.Second // the OPC UA stack's own minimum
	MaxOPCUATimeout     = time.Hour
)

// CheckOPCUALimits returns the problems of the caps in l that given
// reports as set (a cap left out takes its default), each keyed by the
// field as the scenario spells it. The command line checks its flags with
// it too.
func CheckOPCUALimits(l OPCUASettings, given func(name string) bool) map[string]string {
	bad := map[string]string{}
	if given("max_connections") && (l.MaxConnections < 1 || l.MaxConnections > MaxOPCUAConnections) {
		bad["max_connections"] = "is outside 1-10000"
	}
	if given("max_sessions") && (l.MaxSessions < 1 || l.MaxSessions > MaxOPCUASessions) {
		bad["max_sessions"] = "is outside 1-10000"
	}
	if given("idle_after") && l.IdleAfter < Duration(time.Millisecond) {
		bad["idle_after"] = "is shorter than 1ms"
	}
	for name, d := range map[string]Duration{"max_session_timeout": l.MaxSessionTimeout, "max_subscription_lifetime": l.MaxSubscriptionLifetime} {
		if given(name) && (d.D() < MinOPCUATimeout || d.D() > MaxOPCUATimeout) {
			bad[name] = "is outside 10s-1h"
		}
	}
	return bad
}

// opcuaLimits checks the limits in the scenario's opcua section.
func (v *validator) opcuaLimits() {
	l := v.s.OPCUA
	values := map[string]any{
		"max_connections": l.MaxConnections, "max_sessions": l.MaxSessions, "idle_after": l.IdleAfter,
		"max_session_timeout": l.MaxSessionTimeout, "max_subscription_lifetime": l.MaxSubscriptionLifetime,
	}
	hints := map[string]string{
		"max_connections": "e.g. max_connections: 64", "max_sessions": "e.g. max_sessions: 100", "idle_after": "e.g. idle_after: 10s",
		"max_session_timeout": "e.g. max_session_timeout: 2m", "max_subscription_lifetime": "e.g. max_subscription_lifetime: 2m",
	}
	given := func(name string) bool { return v.has("opcua."+name) && !v.bad("opcua."+name) }
	bad := CheckOPCUALimits(l, given)
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		v.add(v.at("opcua."+name, ""), hints[name], "%s %v %s", name, values[name], bad[name])
	}
}
