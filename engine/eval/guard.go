package eval

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// addFunc is the name the patcher gives to bounded "+".
const addFunc = "__add"

// addPatcher rewrites every "+" that is not known to add two numbers into a
// call to safeAdd. expr-lang concatenates strings without a bound, so without
// this `reduce(1..60, #acc + #acc, "x")` would try to build a 2^60 byte string.
type addPatcher struct{}

func (addPatcher) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" {
		return
	}
	// Only string-or-unknown on both sides can build strings; leaving a
	// number + string alone lets the type checker report the mismatch.
	if !stringish(b.Left.Type()) || !stringish(b.Right.Type()) {
		return
	}
	call := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: addFunc},
		Arguments: []ast.Node{b.Left, b.Right},
	}
	ast.Patch(node, call)
}

func stringish(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.String || t.Kind() == reflect.Interface
}

// safeAdd is "+" for whatever the type checker could not prove numeric:
// strings are concatenated up to MaxString, numbers are added.
func safeAdd(params ...any) (any, error) {
	a, b := params[0], params[1]
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			if len(sa)+len(sb) > MaxString {
				return nil, ErrTooLarge
			}
			return sa + sb, nil
		}
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return fa + fb, nil
	}
	return nil, &TypeError{Op: "+", A: a, B: b}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// TypeError reports an operator applied to values it does not accept.
type TypeError struct {
	Op   string
	A, B any
}

func (e *TypeError) Error() string {
	return "invalid operation: " + describe(e.A) + " " + e.Op + " " + describe(e.B)
}
