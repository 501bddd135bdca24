// Package ctxrole is the one list of the production-context roles: what a
// context tag says about the assets it applies to (the work order, the
// product, the batch, its recipe and phase, the shift). A scenario marks
// the tags its twin serves with them, a sources file marks the points that
// read them, and the normalizer files each value under its role. It is a
// leaf package both halves import.
package ctxrole

import "slices"

// Role is what a context tag's value is.
type Role string

// The roles.
const (
	// WorkOrder is the production order under way, e.g. "WO-4711".
	WorkOrder Role = "work_order"
	// Product is what the order makes, e.g. "cola-0.5l".
	Product Role = "product"
	// Batch is the batch under way, e.g. "B-2401".
	Batch Role = "batch"
	// Recipe is the batch's recipe.
	Recipe Role = "recipe"
	// Phase is the batch's phase, e.g. "heat".
	Phase Role = "phase"
	// Shift is the crew's shift, e.g. "A".
	Shift Role = "shift"
)

// All lists every role, in the order contexts show them.
var All = []Role{WorkOrder, Product, Batch, Recipe, Phase, Shift}

// N is the number of roles: arrays indexed by Index have this length.
const N = 6

// Index is r's position in All, -1 for an unknown role.
func (r Role) Index() int { return slices.Index(All, r) }

// Known says r is one of All.
func (r Role) Known() bool { return r.Index() >= 0 }

// Names returns the roles' names in the order of All.
func Names() []string {
	out := make([]string, len(All))
	for i, r := range All {
		out[i] = string(r)
	}
	return out
}
