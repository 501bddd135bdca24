package twin

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

// Expressions (github.com/expr-lang/expr) see the environment that
// scenarios.ExprRefs documents:
//   - an identifier is a tag of the same machine;
//   - a member access on an identifier is a tag of another machine
//     (capper1.torque or capper1["torque"]);
//   - tag("machine/tag") (or tag("<full id>")) reads any tag;
//   - t is the simulated time in seconds; let-bound names are local.
//
// Expressions read the tags' model values (with writes), not the values
// with faults: a stuck sensor does not stop the process it measures.
//
// scenarios.WalkRefs finds the references, as the validator does; every
// reference is resolved once, at compile time, to a variable of one
// shared environment that the engine updates as values change.

// envKey is the environment variable of tag i.
func envKey(i int) string { return "__otwin_" + strconv.Itoa(i) }

// refKey identifies a node of a parsed expression across two parses.
type refKey struct {
	loc file.Location
	typ reflect.Type
}

// refFinder resolves the tag references scenarios.WalkRefs finds in an
// expression to tag indexes and records where each one is.
type refFinder struct {
	e    *Engine
	at   map[refKey]int
	refs []int
}

// add resolves the reference id that node n reads.
func (r *refFinder) add(n ast.Node, id string) error {
	i, ok := r.e.lookup[id]
	if !ok {
		return fmt.Errorf("unknown tag %q", id)
	}
	r.at[refKey{n.Location(), reflect.TypeOf(n)}] = i
	if !slices.Contains(r.refs, i) {
		r.refs = append(r.refs, i)
	}
	return nil
}

// patcher replaces the references a refFinder found by environment
// variables, during expr's compilation.
type patcher struct{ at map[refKey]int }

func (p patcher) Visit(node *ast.Node) {
	if i, ok := p.at[refKey{(*node).Location(), reflect.TypeOf(*node)}]; ok {
		ast.Patch(node, &ast.IdentifierNode{Value: envKey(i)})
	}
}

// compileExpr compiles src in the context of machine m. It returns the
// program and the tags it reads, in order of first reference.
func (e *Engine) compileExpr(m int, src string) (prog *vm.Program, refs []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, refs, err = nil, nil, fmt.Errorf("expression %q: cannot compile: %v", src, r)
		}
	}()
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, nil, fmt.Errorf("expression %q: %w", src, err)
	}
	r := &refFinder{e: e, at: map[refKey]int{}}
	if err := scenarios.WalkRefs(tree, e.machines[m].Name, r.add); err != nil {
		return nil, nil, fmt.Errorf("expression %q: %w", src, err)
	}
	env := map[string]any{scenarios.TimeVar: 0.0}
	for _, i := range r.refs {
		env[envKey(i)] = envZero(e.tags[i].Type)
	}
	prog, err = expr.Compile(src, expr.Env(env), expr.Patch(patcher{r.at}))
	if err != nil {
		return nil, nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return prog, r.refs, nil
}
