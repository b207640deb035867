package eval

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// children returns pointers to the direct children of n, in evaluation order.
func children(n ast.Node) []*ast.Node {
	switch x := n.(type) {
	case *ast.UnaryNode:
		return []*ast.Node{&x.Node}
	case *ast.BinaryNode:
		return []*ast.Node{&x.Left, &x.Right}
	case *ast.ChainNode:
		return []*ast.Node{&x.Node}
	case *ast.MemberNode:
		return []*ast.Node{&x.Node, &x.Property}
	case *ast.SliceNode:
		out := []*ast.Node{&x.Node}
		if x.From != nil {
			out = append(out, &x.From)
		}
		if x.To != nil {
			out = append(out, &x.To)
		}
		return out
	case *ast.CallNode:
		out := []*ast.Node{&x.Callee}
		for i := range x.Arguments {
			out = append(out, &x.Arguments[i])
		}
		return out
	case *ast.BuiltinNode:
		out := make([]*ast.Node, len(x.Arguments))
		for i := range x.Arguments {
			out[i] = &x.Arguments[i]
		}
		return out
	case *ast.PredicateNode:
		return []*ast.Node{&x.Node}
	case *ast.VariableDeclaratorNode:
		return []*ast.Node{&x.Value, &x.Expr}
	case *ast.SequenceNode:
		out := make([]*ast.Node, len(x.Nodes))
		for i := range x.Nodes {
			out[i] = &x.Nodes[i]
		}
		return out
	case *ast.ConditionalNode:
		return []*ast.Node{&x.Cond, &x.Exp1, &x.Exp2}
	case *ast.ArrayNode:
		out := make([]*ast.Node, len(x.Nodes))
		for i := range x.Nodes {
			out[i] = &x.Nodes[i]
		}
		return out
	case *ast.MapNode:
		out := make([]*ast.Node, len(x.Pairs))
		for i := range x.Pairs {
			out[i] = &x.Pairs[i]
		}
		return out
	case *ast.PairNode:
		return []*ast.Node{&x.Key, &x.Value}
	}
	return nil
}

func countNodes(n ast.Node) int {
	c := 1
	for _, ch := range children(n) {
		c += countNodes(*ch)
	}
	return c
}

// staticCheck refuses, with the position of the culprit, what would always
// be refused or always run out of budget: the names of the budget machinery,
// string literals over MaxString, literal ranges over MaxRange, regular
// expressions over MaxPattern or MaxPatternInst, patterns built at run time
// inside a loop, and loops over literal ranges whose passes alone spend more
// than MaxWork. It returns the compiled constant patterns, by their node.
func staticCheck(root ast.Node) (*budgetPatch, error) {
	c := staticChecker{p: &budgetPatch{patterns: map[*ast.BinaryNode]*pattern{}, bodies: map[*ast.PredicateNode]int{}}}
	c.walk(root, 1, 0)
	return c.p, c.err
}

type staticChecker struct {
	p   *budgetPatch
	err error
}

func (c *staticChecker) fail(n ast.Node, format string, args ...any) {
	if c.err == nil {
		c.err = &CompileError{Msg: fmt.Sprintf(format, args...), Offset: n.Location().From}
	}
}

// walk visits n, which runs at least mult times per evaluation (as far as
// literal ranges of loops that run every pass tell), inside loops levels of
// loop.
func (c *staticChecker) walk(n ast.Node, mult, loops int) {
	if c.err != nil || n == nil {
		return
	}
	switch x := n.(type) {
	case *ast.IdentifierNode:
		if strings.HasPrefix(x.Value, "__") && x.Value != addFunc {
			c.fail(n, "unknown name %s", x.Value)
		}
	case *ast.VariableDeclaratorNode:
		if strings.HasPrefix(x.Name, "__") {
			c.fail(n, "names starting with __ are reserved")
		}
	case *ast.StringNode:
		if len(x.Value) > MaxString {
			c.fail(n, "string longer than %d bytes", MaxString)
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "..":
			if size, ok := literalRange(x); ok && size > MaxRange {
				c.fail(x.Left, "range of %d numbers: at most %d", size, MaxRange)
			}
		case "matches":
			if s, ok := x.Right.(*ast.StringNode); ok {
				p, err := compilePattern(s.Value)
				if err != nil {
					c.fail(x.Right, "%s", strings.TrimPrefix(err.Error(), errPattern.Error()+": "))
					return
				}
				c.p.patterns[x] = p
			} else if loops > 0 {
				c.fail(x.Right, "a regular expression built inside a loop: write the pattern as a string in quotes")
			}
		}
	case *ast.BuiltinNode:
		pred := -1
		for i, a := range x.Arguments {
			if pn, ok := a.(*ast.PredicateNode); ok {
				pred = i
				c.p.bodies[pn] = passCost(x.Name, pn)
			}
		}
		if pred > 0 {
			c.walk(x.Arguments[0], mult, loops)
			passes := 0
			if b, ok := x.Arguments[0].(*ast.BinaryNode); ok && b.Operator == ".." {
				passes, _ = literalRange(b)
			} else if a, ok := x.Arguments[0].(*ast.ArrayNode); ok {
				passes = len(a.Nodes)
			}
			inner := mult
			if passes > 0 && allPasses[x.Name] {
				inner = min(mult*passes, MaxWork+1)
				body := passCost(x.Name, x.Arguments[pred].(*ast.PredicateNode))
				if inner*body > MaxWork {
					c.fail(n, "%s runs its body %d times: over the budget of %d work units per evaluation", x.Name, inner, MaxWork)
					return
				}
			}
			for i, a := range x.Arguments[1:] {
				if i+1 == pred {
					c.walk(a, inner, loops+1)
				} else {
					c.walk(a, mult, loops)
				}
			}
			return
		}
	}
	for _, ch := range children(n) {
		c.walk(*ch, mult, loops)
	}
}

// literalRange is the size of a..b when both ends are integer literals.
func literalRange(b *ast.BinaryNode) (int, bool) {
	lo, ok1 := intLiteral(b.Left)
	hi, ok2 := intLiteral(b.Right)
	if !ok1 || !ok2 {
		return 0, false
	}
	if hi < lo {
		return 0, true
	}
	if hi-lo >= 1<<40 {
		return 1 << 40, true
	}
	return hi - lo + 1, true
}

func intLiteral(n ast.Node) (int, bool) {
	switch x := n.(type) {
	case *ast.IntegerNode:
		return x.Value, true
	case *ast.UnaryNode:
		if x.Operator == "-" {
			v, ok := intLiteral(x.Node)
			return -v, ok
		}
	}
	return 0, false
}

// budgetPatch rewrites a checked tree so that the work it does is counted:
// every loop body starts with __tick(__m, nodes), every built-in, function
// and costly operator is preceded by __cost(__m, factor, its operands), and
// "matches" becomes __match(__m, text, pattern) with constant patterns
// compiled once. Operands are bound with let so each is evaluated once, and
// the types the checker inferred for them are kept.
type budgetPatch struct {
	patterns map[*ast.BinaryNode]*pattern
	bodies   map[*ast.PredicateNode]int // work units of one pass
	lets     int
	metered  bool // the patched expression reads the meter
}

// passCost is the work units of one pass of a loop body: passBase, passUnits
// per node of the body as written, and what the built-in adds per item.
func passCost(builtin string, body *ast.PredicateNode) int {
	return passBase + passUnits*countNodes(body.Node) + passFactor[builtin]
}

// allPasses are the loop built-ins that always run every pass; count, all,
// any, find... may stop early (expr-lang's optimizer turns count(...) > 0
// and filter(...)[0] into early exits), so only these can be refused for
// their passes alone.
var allPasses = map[string]bool{"map": true, "reduce": true, "sortBy": true, "groupBy": true, "sum": true}

func (p *budgetPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		k, ok := p.bodies[n]
		if !ok {
			k = passCost("", n)
		}
		n.Node = p.seq(n.Node, p.call(tick, n.Node, &ast.IntegerNode{Value: k}))
	case *ast.BinaryNode:
		switch n.Operator {
		case "matches":
			if cp, ok := p.patterns[n]; ok {
				ast.Patch(node, p.call(cp.matcher(), n, n.Left))
				return
			}
			p.metered = true
			m := p.at(&ast.IdentifierNode{Value: meterName}, n)
			call := &ast.CallNode{Callee: p.at(&ast.IdentifierNode{Value: matchFunc}, n), Arguments: []ast.Node{m, n.Left, n.Right}}
			ast.Patch(node, call)
		case "contains", "startsWith", "endsWith", "in", "==", "!=", "<", ">", "<=", ">=":
			if cheapOperands(n) {
				return
			}
			p.charge(node, 1, false, &n.Left, &n.Right)
		}
	case *ast.BuiltinNode:
		ptrs := make([]*ast.Node, len(n.Arguments))
		for i := range n.Arguments {
			if _, ok := n.Arguments[i].(*ast.PredicateNode); ok {
				return // its passes are ticked
			}
			ptrs[i] = &n.Arguments[i]
		}
		f := costFactor[n.Name]
		if f == 0 {
			f = 1
		}
		p.charge(node, f, n.Name == "string", ptrs...)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || strings.HasPrefix(id.Value, "__") && id.Value != addFunc {
			return // a method of a value in env (time.Time's), or ours
		}
		ptrs := make([]*ast.Node, len(n.Arguments))
		for i := range n.Arguments {
			ptrs[i] = &n.Arguments[i]
		}
		p.charge(node, 1, false, ptrs...)
	}
}

// cheapOperands reports an operation that takes constant time, counted with
// the rest of the body: a lookup in a literal list, a map or tags (which
// holds only tags written in the flow, so it is as bounded as a literal
// list), a comparison
// with a number, boolean, time or literal (Go compares strings' lengths
// first, so == "yes" reads at most 3 bytes).
func cheapOperands(n *ast.BinaryNode) bool {
	switch n.Operator {
	case "in":
		if _, ok := n.Right.(*ast.ArrayNode); ok {
			return true
		}
		if id, ok := n.Right.(*ast.IdentifierNode); ok && id.Value == "tags" {
			return true
		}
		k := n.Right.Type().Kind()
		return k == reflect.Map || k == reflect.Struct
	case "==", "!=", "<", ">", "<=", ">=":
		return scalar(n.Left.Type()) || scalar(n.Right.Type()) || literal(n.Left) || literal(n.Right)
	}
	return false
}

func literal(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	}
	return false
}

func scalar(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Struct:
		return t.String() == "time.Time"
	}
	return false
}

// charge turns node into
//
//	let __bN = operand; ...; cost(__m, operand); ...; node
//
// Literals and variables are passed as they are; reading them twice is as
// cheap as binding them.
func (p *budgetPatch) charge(node *ast.Node, f int, deep bool, ops ...*ast.Node) {
	orig := *node
	fn := costFunc(f, deep)
	var calls []ast.Node
	type decl struct {
		name  string
		value ast.Node
	}
	var decls []decl
	for _, op := range ops {
		switch x := (*op).(type) {
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
			continue // no size
		case *ast.StringNode:
			calls = append(calls, p.call(fn, orig, &ast.StringNode{Value: x.Value}))
			continue
		case *ast.IdentifierNode:
			calls = append(calls, p.call(fn, orig, p.at(&ast.IdentifierNode{Value: x.Value}, x)))
			continue
		}
		p.lets++
		name := fmt.Sprintf("%s%d", letPrefix, p.lets)
		decls = append(decls, decl{name, *op})
		*op = p.at(&ast.IdentifierNode{Value: name}, *op)
		calls = append(calls, p.call(fn, orig, p.at(&ast.IdentifierNode{Value: name}, orig)))
	}
	if len(calls) == 0 {
		calls = append(calls, p.call(fn, orig, &ast.NilNode{}))
	}
	out := p.at(&ast.SequenceNode{Nodes: append(calls, orig)}, orig)
	for i := len(decls) - 1; i >= 0; i-- {
		out = p.at(&ast.VariableDeclaratorNode{Name: decls[i].name, Value: decls[i].value, Expr: out}, orig)
	}
	*node = out
}

func (p *budgetPatch) at(n, like ast.Node) ast.Node {
	n.SetLocation(like.Location())
	return n
}

// call builds fn(__m, arg), fn placed in the program as a constant.
func (p *budgetPatch) call(fn func(m, v any) bool, like ast.Node, arg ast.Node) ast.Node {
	p.metered = true
	m := p.at(&ast.IdentifierNode{Value: meterName}, like)
	return p.at(&ast.CallNode{Callee: p.at(&ast.ConstantNode{Value: fn}, like), Arguments: []ast.Node{m, arg}}, like)
}

// seq builds (first; last), whose value and type are last's.
func (p *budgetPatch) seq(last, first ast.Node) ast.Node {
	return p.at(&ast.SequenceNode{Nodes: []ast.Node{first, last}}, last)
}
