package opcuaserver

import "github.com/otwin/otwin/scenarios"

// applyLimits copies the caps of a scenario's OPC UA settings (connections,
// idle time, sessions, session timeout, subscription lifetime) into c, for
// ApplySettings; caps left at zero keep c's value, and with it the default.
func (c *Config) applyLimits(s scenarios.OPCUASettings) {
	if s.MaxConnections != 0 {
		c.MaxConnections = s.MaxConnections
	}
	if s.IdleAfter != 0 {
		c.IdleAfter = s.IdleAfter.D()
	}
	if s.MaxSessions != 0 {
		c.MaxSessions = s.MaxSessions
	}
	if s.MaxSessionTimeout != 0 {
		c.MaxSessionTimeout = s.MaxSessionTimeout.D()
	}
	if s.MaxSubscriptionLifetime != 0 {
		c.MaxSubscriptionLifetime = s.MaxSubscriptionLifetime.D()
	}
}
