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
// Every reference is resolved once, at compile time, to a variable of one
// shared environment that the engine updates as values change.

// envKey is the environment variable of tag i.
func envKey(i int) string { return "__otwin_" + strconv.Itoa(i) }

// refKey identifies a node of a parsed expression across two parses.
type refKey struct {
	loc file.Location
	typ reflect.Type
}

// refFinder walks an expression in the validator's way and records where
// each tag reference is.
type refFinder struct {
	e       *Engine
	machine int
	at      map[refKey]int
	refs    []int
	err     error
}

func (r *refFinder) add(n ast.Node, id string) {
	if r.err != nil {
		return
	}
	i, ok := r.e.lookup[id]
	if !ok {
		r.err = fmt.Errorf("unknown tag %q", id)
		return
	}
	r.at[refKey{n.Location(), reflect.TypeOf(n)}] = i
	if !slices.Contains(r.refs, i) {
		r.refs = append(r.refs, i)
	}
}

func (r *refFinder) walk(n ast.Node, scope []string) {
	if n == nil || r.err != nil {
		return
	}
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if n.Value == scenarios.TimeVar || slices.Contains(scope, n.Value) {
			return
		}
		r.add(n, r.e.machines[r.machine].Name+"/"+n.Value)
	case *ast.UnaryNode:
		r.walk(n.Node, scope)
	case *ast.BinaryNode:
		r.walk(n.Left, scope)
		r.walk(n.Right, scope)
	case *ast.ChainNode:
		r.walk(n.Node, scope)
	case *ast.MemberNode:
		id, isIdent := n.Node.(*ast.IdentifierNode)
		if isIdent && id.Value != scenarios.TimeVar && !slices.Contains(scope, id.Value) {
			prop, ok := n.Property.(*ast.StringNode)
			if !ok {
				r.err = fmt.Errorf("tag of machine %q must be named literally", id.Value)
				return
			}
			r.add(n, id.Value+"/"+prop.Value)
			return
		}
		r.walk(n.Node, scope)
		r.walk(n.Property, scope)
	case *ast.SliceNode:
		r.walk(n.Node, scope)
		r.walk(n.From, scope)
		r.walk(n.To, scope)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != scenarios.TagFunc || len(n.Arguments) != 1 {
			r.err = fmt.Errorf("unknown function (only %s(\"machine/tag\") and expr's builtins)", scenarios.TagFunc)
			return
		}
		s, ok := n.Arguments[0].(*ast.StringNode)
		if !ok {
			r.err = fmt.Errorf("%s needs a string literal \"machine/tag\"", scenarios.TagFunc)
			return
		}
		r.add(n, s.Value)
	case *ast.BuiltinNode:
		for _, a := range n.Arguments {
			r.walk(a, scope)
		}
		r.walk(n.Map, scope)
	case *ast.PredicateNode:
		r.walk(n.Node, scope)
	case *ast.VariableDeclaratorNode:
		r.walk(n.Value, scope)
		r.walk(n.Expr, append(slices.Clip(scope), n.Name))
	case *ast.SequenceNode:
		for _, c := range n.Nodes {
			r.walk(c, scope)
		}
	case *ast.ConditionalNode:
		r.walk(n.Cond, scope)
		r.walk(n.Exp1, scope)
		r.walk(n.Exp2, scope)
	case *ast.ArrayNode:
		for _, c := range n.Nodes {
			r.walk(c, scope)
		}
	case *ast.MapNode:
		for _, c := range n.Pairs {
			r.walk(c, scope)
		}
	case *ast.PairNode:
		if _, ok := n.Key.(*ast.IdentifierNode); !ok {
			r.walk(n.Key, scope)
		}
		r.walk(n.Value, scope)
	}
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
	r := &refFinder{e: e, machine: m, at: map[refKey]int{}}
	r.walk(tree.Node, nil)
	if r.err != nil {
		return nil, nil, fmt.Errorf("expression %q: %w", src, r.err)
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
