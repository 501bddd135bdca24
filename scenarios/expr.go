package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
)

// TimeVar is the identifier of the simulated time, in seconds since the
// scenario start, in every expression. It always means the time: a tag
// named "t" is reached as tag("machine/t").
const TimeVar = "t"

// TagFunc is the function that reads any tag by its "machine/tag" name in
// an expression: tag("filler1/speed"). Its argument must be a string
// literal so that dependencies are known before the first tick.
const TagFunc = "tag"

// ExprRefs returns the tags the expression src, written on a tag of
// machine, refers to, as "machine/tag" names, sorted and without
// duplicates. It is what the engine orders evaluation by, and what the
// validator checks against the scenario.
//
// An expression sees its environment (github.com/expr-lang/expr syntax) as:
//
//   - an identifier is a tag of the same machine: speed;
//   - a member access on an identifier is a tag of another machine:
//     capper1.torque or capper1["torque"];
//   - tag("machine/tag") reads any tag, including tags whose names are
//     not identifiers (tag("filler1/fill-level"));
//   - t is the simulated time in seconds;
//   - names bound with let, and the predicate pointers (#, #index), are
//     local to the expression.
//
// ExprRefs does not know the scenario: it reports the names the
// expression uses, whether or not such tags exist. It returns an error
// when src does not parse, calls a function other than tag or expr's
// builtins, or reads a tag by a name computed at run time. It never
// panics and is safe for concurrent use.
func ExprRefs(machine, src string) (refs []string, err error) {
	rs, err := exprRefs(machine, src)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		refs = append(refs, r.name)
	}
	slices.Sort(refs)
	return slices.Compact(refs), nil
}

// exprRef is one tag reference of an expression and where it starts (a
// 0-based rune offset into the expression).
type exprRef struct {
	name string
	from int
	// lit is the string the reference is compared with by == or !=
	// (state == "Running"), when hasLit.
	lit    string
	hasLit bool
}

// ExprError is an expression problem at a position within the
// expression.
type ExprError struct {
	// Line and Column are 1-based, within the expression's source.
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

// Error formats e as "line:col: msg".
func (e *ExprError) Error() string {
	if e.Line <= 1 {
		return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d column %d: %s", e.Line, e.Column, e.Msg)
}

// exprRefs parses src and collects its references in source order.
func exprRefs(machine, src string) (refs []exprRef, err error) {
	defer func() {
		if r := recover(); r != nil {
			refs, err = nil, &ExprError{Line: 1, Column: 1, Msg: fmt.Sprintf("cannot parse expression: %v", r)}
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Line: 1, Column: 1, Msg: "empty expression"}
	}
	tree, perr := parser.Parse(src)
	if perr != nil {
		if fe, ok := perr.(*file.Error); ok {
			return nil, &ExprError{Line: fe.Line, Column: fe.Column + 1, Msg: fe.Message}
		}
		return nil, &ExprError{Line: 1, Column: 1, Msg: perr.Error()}
	}
	visit := func(n ast.Node, name string) error {
		from := n.Location().From
		switch n := n.(type) {
		case *ast.MemberNode:
			// Point at the machine's name, where machine.tag starts.
			from = n.Node.Location().From
		case *ast.CallNode:
			m, t, ok := strings.Cut(name, "/")
			if !ok || m == "" || t == "" || strings.Contains(t, "/") {
				return exprErrorAt(src, n.Arguments[0], "%s(%q): want \"machine/tag\"", TagFunc, name)
			}
		}
		refs = append(refs, exprRef{name: name, from: from})
		return nil
	}
	compared := func(ref int, lit string) {
		refs[ref].lit, refs[ref].hasLit = lit, true
	}
	if err := walkRefs(tree, machine, visit, compared); err != nil {
		return nil, err
	}
	return refs, nil
}

// WalkRefs calls visit for every tag reference of tree, an expression
// parsed by github.com/expr-lang/expr/parser and written on a tag of
// machine, in source order. It is the one reading of the rules ExprRefs
// documents, shared by the validator and the engine.
//
// n is the node that reads the tag, the node to replace to read it
// another way:
//
//   - an *ast.IdentifierNode speed: ref is machine + "/speed";
//   - an *ast.MemberNode capper1.torque or capper1["torque"]: ref is
//     "capper1/torque";
//   - the *ast.CallNode tag("..."): ref is the argument as written.
//     WalkRefs does not check its form: the validator requires
//     "machine/tag", the engine also accepts a tag's full ID.
//
// The walk stops at the first error, which WalkRefs returns: visit's error
// unchanged, or an *ExprError positioned in tree.Source when the
// expression uses an element ExprRefs does not allow (a function other
// than tag and expr's builtins, a tag named at run time, a $-name). A nil
// tree has no references. WalkRefs does not modify tree and never panics
// on a tree the parser returned; concurrent calls are safe as long as no
// one modifies the tree meanwhile.
func WalkRefs(tree *parser.Tree, machine string, visit func(n ast.Node, ref string) error) error {
	return walkRefs(tree, machine, visit, nil)
}

// walkRefs is WalkRefs that also calls compared, when not nil, for each
// reference compared with a string literal by == or != (state ==
// "Running"), with the reference's 0-based index in visit order.
func walkRefs(tree *parser.Tree, machine string, visit func(n ast.Node, ref string) error, compared func(ref int, lit string)) error {
	if tree == nil {
		return nil
	}
	w := &refWalker{machine: machine, src: tree.Source.String(), visit: visit, compared: compared}
	w.walk(tree.Node, nil)
	return w.err
}

// refWalker finds the references of an expression tree.
type refWalker struct {
	machine  string
	src      string
	visit    func(n ast.Node, ref string) error
	compared func(ref int, lit string)
	// n counts the references visited so far.
	n   int
	err error
}

// fail records the first error, at node n.
func (w *refWalker) fail(n ast.Node, format string, args ...any) {
	if w.err != nil {
		return
	}
	w.err = exprErrorAt(w.src, n, format, args...)
}

// exprErrorAt is an *ExprError at node n of the expression src.
func exprErrorAt(src string, n ast.Node, format string, args ...any) *ExprError {
	line, col := position(src, n.Location().From)
	return &ExprError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// position turns a rune offset into a 1-based line and column.
func position(src string, from int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i == from {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

// add visits the reference name that node n reads.
func (w *refWalker) add(n ast.Node, name string) {
	if w.err != nil {
		return
	}
	if err := w.visit(n, name); err != nil {
		w.err = err
		return
	}
	w.n++
}

// isRefNode reports whether n is a node that reads one tag.
func isRefNode(n ast.Node) bool {
	switch n.(type) {
	case *ast.IdentifierNode, *ast.MemberNode, *ast.CallNode:
		return true
	}
	return false
}

// walk visits n with the let-bound names in scope.
func (w *refWalker) walk(n ast.Node, scope []string) {
	if n == nil || w.err != nil {
		return
	}
	switch n := n.(type) {
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.StringNode, *ast.BytesNode, *ast.ConstantNode, *ast.PointerNode:
	case *ast.IdentifierNode:
		if n.Value == TimeVar || slices.Contains(scope, n.Value) {
			return
		}
		if strings.HasPrefix(n.Value, "$") {
			w.fail(n, "unknown name %q", n.Value)
			return
		}
		w.add(n, w.machine+"/"+n.Value)
	case *ast.UnaryNode:
		w.walk(n.Node, scope)
	case *ast.BinaryNode:
		l0 := w.n
		w.walk(n.Left, scope)
		l1 := w.n
		w.walk(n.Right, scope)
		if w.err == nil && w.compared != nil && (n.Operator == "==" || n.Operator == "!=") {
			if s, ok := n.Right.(*ast.StringNode); ok && l1-l0 == 1 && isRefNode(n.Left) {
				w.compared(l0, s.Value)
			}
			if s, ok := n.Left.(*ast.StringNode); ok && w.n-l1 == 1 && isRefNode(n.Right) {
				w.compared(l1, s.Value)
			}
		}
	case *ast.ChainNode:
		w.walk(n.Node, scope)
	case *ast.MemberNode:
		id, isIdent := n.Node.(*ast.IdentifierNode)
		if isIdent && id.Value != TimeVar && !slices.Contains(scope, id.Value) && !strings.HasPrefix(id.Value, "$") {
			prop, ok := n.Property.(*ast.StringNode)
			if !ok {
				w.fail(n.Property, "tag of machine %q must be named literally (machine.tag or machine[\"tag\"])", id.Value)
				return
			}
			w.add(n, id.Value+"/"+prop.Value)
			return
		}
		w.walk(n.Node, scope)
		w.walk(n.Property, scope)
	case *ast.SliceNode:
		w.walk(n.Node, scope)
		w.walk(n.From, scope)
		w.walk(n.To, scope)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != TagFunc {
			name := "expression"
			if ok {
				name = id.Value
			}
			w.fail(n, "unknown function %q (only %s(\"machine/tag\") and expr's builtins)", name, TagFunc)
			return
		}
		if len(n.Arguments) != 1 {
			w.fail(n, "%s takes one argument, \"machine/tag\"", TagFunc)
			return
		}
		s, ok := n.Arguments[0].(*ast.StringNode)
		if !ok {
			w.fail(n.Arguments[0], "%s needs a string literal \"machine/tag\"", TagFunc)
			return
		}
		w.add(n, s.Value)
	case *ast.BuiltinNode:
		for _, a := range n.Arguments {
			w.walk(a, scope)
		}
		w.walk(n.Map, scope)
	case *ast.PredicateNode:
		w.walk(n.Node, scope)
	case *ast.VariableDeclaratorNode:
		w.walk(n.Value, scope)
		w.walk(n.Expr, append(slices.Clip(scope), n.Name))
	case *ast.SequenceNode:
		for _, c := range n.Nodes {
			w.walk(c, scope)
		}
	case *ast.ConditionalNode:
		w.walk(n.Cond, scope)
		w.walk(n.Exp1, scope)
		w.walk(n.Exp2, scope)
	case *ast.ArrayNode:
		for _, c := range n.Nodes {
			w.walk(c, scope)
		}
	case *ast.MapNode:
		for _, c := range n.Pairs {
			w.walk(c, scope)
		}
	case *ast.PairNode:
		// A key that is a bare name is a literal key, not a reference.
		if _, ok := n.Key.(*ast.IdentifierNode); !ok {
			w.walk(n.Key, scope)
		}
		w.walk(n.Value, scope)
	default:
		w.fail(n, "unsupported expression element %T", n)
	}
}
