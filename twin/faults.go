package twin

import (
	"errors"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// FaultStatus is the state of one fault.
type FaultStatus struct {
	Name     string              `json:"name"`
	Kind     scenarios.FaultKind `json:"kind"`
	Target   string              `json:"target"`
	Protocol string              `json:"protocol,omitempty"`
	Defined  bool                `json:"defined"`
	Active   bool                `json:"active"`
	Since    time.Duration       `json:"since,omitempty"`
	Until    time.Duration       `json:"until,omitempty"`
	Fault    scenarios.Fault     `json:"fault"`
}

// Link returns the transport-fault state of machine's endpoint for protocol.
func (e *Engine) Link(machine, protocol string) Link { return Link{} }

// Inject starts an ad-hoc fault.
func (e *Engine) Inject(f scenarios.Fault) error { return errors.New("not implemented") }

// InjectNamed starts a named fault of the scenario.
func (e *Engine) InjectNamed(name string) error { return errors.New("not implemented") }

// Clear ends an active fault.
func (e *Engine) Clear(name string) error { return errors.New("not implemented") }

// Faults lists defined and active faults.
func (e *Engine) Faults() []FaultStatus { return nil }
