package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// The validator's checks of expressions: syntax, references and
// comparisons with state names (cycles: validate.go).

// parseExpr parses an expression once per source text.
func (v *validator) parseExpr(src string) exprParse {
	if p, ok := v.exprCache[src]; ok {
		return p
	}
	refs, err := exprRefs("\x00", src)
	p := exprParse{refs: refs, err: err}
	v.exprCache[src] = p
	return p
}

// expressions checks every expression's syntax and references and
// collects dependencies for the cycle check.
func (v *validator) expressions() {
	for i := range v.s.Machines {
		m := &v.s.Machines[i]
		for k := range m.Tags {
			t := &m.Tags[k]
			if t.Model == nil {
				continue
			}
			o := v.origins[i][k]
			id := m.Name + "/" + t.Name
			type src struct {
				field, text string
				dep         bool
			}
			var srcs []src
			names, set := t.Model.kinds()
			for j, k := range set {
				if ke, ok := k.(ModelExprs); ok {
					for _, x := range ke.Exprs() {
						if x.Src != "" {
							srcs = append(srcs, src{"model." + names[j] + "." + x.Field, x.Src, x.SameTick})
						}
					}
				}
			}
			for _, s := range srcs {
				p := v.tagAt(o, s.field)
				if v.bad(join(o.base(), s.field)) {
					continue
				}
				parsed := v.parseExpr(s.text)
				if parsed.err != nil {
					v.add(p, "", "expression %q: %v", excerpt(s.text), parsed.err)
					continue
				}
				for _, r := range parsed.refs {
					name := r.name
					if strings.HasPrefix(name, "\x00/") {
						name = m.Name + name[1:]
					}
					rt, ok := v.tags[name]
					if !ok {
						v.unknownRef(v.exprPos(v.tagPath(o, s.field), s.text, r.from, p), m, name)
						continue
					}
					if r.hasLit {
						v.stateLiteral(v.exprPos(v.tagPath(o, s.field), s.text, r.from, p), name, rt, r.lit)
					}
					if s.dep {
						v.deps[id] = append(v.deps[id], name)
						if _, ok := v.depAt[id]; !ok {
							v.depAt[id] = p
						}
					}
				}
			}
		}
	}
}

// stateLiteral checks a comparison of a state machine tag with a string.
func (v *validator) stateLiteral(p pos, name string, rt *rtag, lit string) {
	if rt.tag.Model == nil || rt.tag.Model.StateMachine == nil {
		return
	}
	if typ := rt.tag.DataType(); typ != String {
		v.add(p, "make the tag a string to compare with state names", "%s is a numeric state code (%s); comparing it with %q is always false", name, typ, lit)
		return
	}
	states := rt.tag.Model.StateMachine.StateNames()
	if !slices.Contains(states, lit) {
		v.add(p, didYouMean(lit, states), "%q is not a state of %s", lit, name)
	}
}

// unknownRef reports an expression's reference to a missing tag.
func (v *validator) unknownRef(p pos, m *Machine, ref string) {
	mname, tname, _ := strings.Cut(ref, "/")
	j, ok := v.machines[mname]
	if !ok {
		names := make([]string, 0, len(v.machines))
		for n := range v.machines {
			names = append(names, n)
		}
		v.add(p, didYouMean(mname, names), "expression refers to unknown machine %q (in %s)", mname, ref)
		return
	}
	var names []string
	for _, t := range v.s.Machines[j].Tags {
		names = append(names, t.Name)
	}
	hint := didYouMean(tname, names)
	if _, isMachine := v.machines[tname]; isMachine && mname == m.Name && hint == "" {
		hint = fmt.Sprintf("%s is a machine: write %s.tag", tname, tname)
	}
	v.add(p, hint, "expression refers to unknown tag %q", ref)
}
