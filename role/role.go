// Package role is the one list of the roles people take in otwin: on the
// dashboard (which view a session opens on, what it may do), in the SSH
// users file, and in a scenario's workshop exercises. It is a leaf
// package both halves import, so a role a scenario expects is a role a
// participant can have.
package role

import (
	"fmt"
	"slices"
	"strings"
)

// Role is the kind of user a session serves.
type Role string

// The roles.
const (
	Operator    Role = "operator"
	Supervisor  Role = "supervisor"
	Maintenance Role = "maintenance"
	Quality     Role = "quality"
	Engineer    Role = "engineer"
	Trainer     Role = "trainer"
)

// All lists every role in display order.
var All = []Role{Operator, Supervisor, Maintenance, Quality, Engineer, Trainer}

// Known says r is one of All.
func (r Role) Known() bool { return slices.Contains(All, r) }

// Names returns the roles' names in display order.
func Names() []string {
	out := make([]string, len(All))
	for i, r := range All {
		out[i] = string(r)
	}
	return out
}

// Parse returns the role named s (case-insensitive, surrounding space
// ignored), or an error listing the valid names.
func Parse(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.Known() {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want one of %s)", s, strings.Join(Names(), ", "))
}
