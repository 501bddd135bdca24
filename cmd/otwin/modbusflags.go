package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/modbusserver"
)

// modbusFlags are the command-line overrides of the scenario's modbus
// settings; zero keeps the scenario's value.
type modbusFlags struct {
	maxConns  int
	idleAfter time.Duration
}

func (m *modbusFlags) register(f *pflag.FlagSet) {
	f.IntVar(&m.maxConns, "modbus-max-conns", 0,
		fmt.Sprintf("connections each Modbus port holds at once, 1-%d (default: the scenario's modbus.max_connections, else 64)", scenarios.MaxModbusConnections))
	f.DurationVar(&m.idleAfter, "modbus-idle-after", 0,
		"silence after which a Modbus connection may lose its slot to a new one (default: the scenario's modbus.idle_after, else 10s)")
}

// settings applies the flags over the scenario's settings.
func (m modbusFlags) settings(s scenarios.ModbusSettings) (scenarios.ModbusSettings, error) {
	if m.maxConns != 0 {
		if m.maxConns < 1 || m.maxConns > scenarios.MaxModbusConnections {
			return s, fmt.Errorf("--modbus-max-conns %d is outside 1-%d", m.maxConns, scenarios.MaxModbusConnections)
		}
		s.MaxConnections = m.maxConns
	}
	if m.idleAfter != 0 {
		if m.idleAfter < time.Millisecond {
			return s, fmt.Errorf("--modbus-idle-after %s is shorter than 1ms", m.idleAfter)
		}
		s.IdleAfter = scenarios.Duration(m.idleAfter)
	}
	return s, nil
}

// modbusConfig is the server configuration of the Modbus endpoint serving
// machines on port, with s the settings after the flags.
func modbusConfig(cfg twinConfig, s scenarios.ModbusSettings, port int, machines []string) modbusserver.Config {
	return modbusserver.Config{
		Host:      cfg.Host,
		Port:      port,
		Machines:  machines,
		MaxConns:  s.MaxConnections,
		IdleAfter: s.IdleAfter.D(),
		Logger:    cfg.Logger.With("server", "modbus"),
	}
}
