package scenarios

import (
	"fmt"
	"slices"
)

// StateMachine moves between states. The tag's value is the state's name
// for string tags and its code for numeric tags.
type StateMachine struct {
	// Initial state's name. Default: the first state.
	Initial string `yaml:"initial,omitempty" json:"initial,omitempty"`
	// States of the machine.
	States []State `yaml:"states" json:"states"`
}

// State is one state of a state machine.
type State struct {
	// Name of the state, e.g. Running.
	Name string `yaml:"name" json:"name"`
	// Code is the state's value for numeric tags. Default: its index.
	Code *int64 `yaml:"code,omitempty" json:"code,omitempty"`
	// Dwell is how long the machine stays in the state: a random time
	// between Min and Max.
	Dwell DwellTime `yaml:"dwell" json:"dwell"`
	// Next maps each successor state to its weight; weights are normalized.
	// An empty Next keeps the machine in this state.
	Next map[string]float64 `yaml:"next,omitempty" json:"next,omitempty"`
}

// DwellTime is a random duration in [Min, Max].
type DwellTime struct {
	Min Duration `yaml:"min" json:"min"`
	Max Duration `yaml:"max" json:"max"`
}

// StateNames lists the states' names in order: the one list the
// validator, the timeline and the twin look states up in.
func (k *StateMachine) StateNames() []string {
	names := make([]string, len(k.States))
	for i, s := range k.States {
		names[i] = s.Name
	}
	return names
}

// StateCode is the code of state i: its Code, default its index.
func (k *StateMachine) StateCode(i int) int64 {
	if c := k.States[i].Code; c != nil {
		return *c
	}
	return int64(i)
}

// Drives: a state machine drives string tags (the state's name) and
// numeric tags (its code).
func (k *StateMachine) Drives(t DataType) bool { return t == String || t.Numeric() }

// Check needs states, known next and initial states; it wants valid,
// distinct names and codes of the tag's type, dwell times with
// 0 <= min <= max and weights >= 0.
func (k *StateMachine) Check(c *ModelCheck) {
	if len(k.States) == 0 {
		c.Need("states", "", "state_machine has no states")
		return
	}
	names := k.StateNames()
	seen := map[string]bool{}
	codes := map[int64]string{}
	for i, s := range k.States {
		sp := fmt.Sprintf("states[%d]", i)
		if s.Name == "" {
			c.Want(sp, "", "state has no name")
		} else if !validName(s.Name) {
			c.Want(sp+".name", "use letters, digits, '.', '_' and '-'", "state name %q has characters outside [a-zA-Z0-9._-]", s.Name)
		}
		if seen[s.Name] {
			c.Want(sp+".name", "", "duplicate state %q", s.Name)
		}
		seen[s.Name] = true
		code := k.StateCode(i)
		if c.Type.Integer() {
			if _, err := Exact(c.Type, code); err != nil {
				c.Want(sp+".code", "", "state code %v", err)
			}
		}
		if other, dup := codes[code]; dup {
			c.Want(sp+".code", "", "state %q has the same code %d as %q", s.Name, code, other)
		}
		codes[code] = s.Name
		if s.Dwell.Min < 0 || s.Dwell.Max < 0 {
			c.Want(sp+".dwell", "", "dwell times must be >= 0")
		} else if s.Dwell.Min > s.Dwell.Max {
			c.Want(sp+".dwell.min", "", "dwell min %s is above max %s", s.Dwell.Min, s.Dwell.Max)
		}
		nexts := make([]string, 0, len(s.Next))
		for n := range s.Next {
			nexts = append(nexts, n)
		}
		slices.Sort(nexts)
		for _, n := range nexts {
			np := sp + ".next." + n
			if !slices.Contains(names, n) {
				c.NeedKey(np, didYouMean(n, names), "unknown state %q in next", n)
			}
			if w := s.Next[n]; w < 0 {
				c.Want(np, "", "transition weight to %q must be >= 0, got %v", n, w)
			}
		}
	}
	if k.Initial != "" && !slices.Contains(names, k.Initial) {
		c.Need("initial", didYouMean(k.Initial, names), "unknown initial state %q", k.Initial)
	}
}
