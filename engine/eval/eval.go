// Package eval compiles and runs the expressions and {{ templates }} of a flow.
//
// Expressions are expr-lang programs compiled once per flow version against a
// Schema built from the flow's declared variables, so a misspelt name or a
// type mismatch is a validation error, not a runtime surprise. Evaluation has
// no I/O and no clock of its own: everything an expression can see comes in
// through Env, which keeps conversations deterministic and replayable.
package eval

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// Type is the declared type of a flow variable.
type Type uint8

// Variable types a flow may declare.
const (
	TypeAny Type = iota
	TypeString
	TypeNumber
	TypeBool
	TypeDate
	TypeList
	TypeObject
)

// TypeNames lists the spellings accepted in a flow's vars section.
var typeNames = map[string]Type{
	"string": TypeString, "text": TypeString,
	"number": TypeNumber,
	"bool":   TypeBool, "boolean": TypeBool,
	"date":   TypeDate,
	"list":   TypeList,
	"object": TypeObject, "map": TypeObject,
	"any": TypeAny,
}

// ParseType reads a type name from a flow document.
func ParseType(s string) (Type, bool) {
	t, ok := typeNames[s]
	return t, ok
}

// TypeNameList is the list of accepted type names, for error messages and the schema.
func TypeNameList() []string {
	return []string{"string", "number", "boolean", "date", "list", "object", "any"}
}

func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeBool:
		return "boolean"
	case TypeDate:
		return "date"
	case TypeList:
		return "list"
	case TypeObject:
		return "object"
	}
	return "any"
}

// Zero is the value a declared but unset variable has in expressions.
func (t Type) Zero() any {
	switch t {
	case TypeString:
		return ""
	case TypeNumber:
		return float64(0)
	case TypeBool:
		return false
	case TypeDate:
		return time.Time{}
	case TypeList:
		return []any{}
	case TypeObject:
		return map[string]any{}
	}
	return nil
}

// Contact is the profile of the person on the other end, as expressions see it.
type Contact struct {
	FirstName string `expr:"first_name"`
	LastName  string `expr:"last_name"`
	Username  string `expr:"username"`
	Language  string `expr:"language"`
	Channel   string `expr:"channel"`
	Phone     string `expr:"phone"`
	// Source is where the person came from (a deep link's payload, the
	// web chat's data-source), first touch.
	Source string `expr:"source"`
}

// Limits guard evaluation against hostile or runaway expressions.
const (
	// MaxNodes bounds the size of one expression; flows hold short conditions, not programs.
	MaxNodes = 300
	// MemoryBudget bounds the ranges, arrays and maps one evaluation may build.
	MemoryBudget = 5000
	// MaxString bounds every string an expression builds and every rendered
	// template; messages are at most a few KB on every messenger, and the bound
	// times MemoryBudget caps what one hostile evaluation can allocate.
	MaxString = 8 << 10
)

// ErrTooLarge reports an evaluation that tried to build a string over
// MaxString. It is a budget error: errors.Is(ErrTooLarge, ErrBudget).
var ErrTooLarge error = &BudgetError{What: "output"}

// Builtins that are switched off: now/date/timezone read the clock or the
// time-zone database (I/O, and not deterministic); repeat, replace, join,
// toJSON, flatten and concat can build huge values from tiny inputs. Bounded
// versions of replace and join are provided.
var disabledBuiltins = []string{"now", "date", "timezone", "repeat", "replace", "join", "toJSON", "flatten", "concat"}

// Reserved names every expression can use besides declared variables.
var reserved = []string{"score", "tags", "segment", "contact", "input", "now", "env"}

// IsReserved reports whether name is a built-in name that a variable may not take.
func IsReserved(name string) bool {
	for _, r := range reserved {
		if r == name {
			return true
		}
	}
	return false
}

// Var is a declared variable.
type Var struct {
	Name string
	Type Type
}

// Schema is the set of names expressions of one flow may use, with their types.
type Schema struct {
	vars  []Var
	index map[string]int
	proto map[string]any
	opts  []expr.Option
	// patterns keeps the regular expressions built at run time.
	patterns patternCache
}

// NewSchema builds the schema for a flow's declared variables.
func NewSchema(vars []Var) *Schema {
	s := &Schema{vars: vars, index: make(map[string]int, len(vars)), proto: make(map[string]any, len(vars)+len(reserved))}
	for i, v := range vars {
		s.index[v.Name] = i
		s.proto[v.Name] = v.Type.Zero()
	}
	s.proto["score"] = float64(0)
	s.proto["tags"] = []string{}
	s.proto["segment"] = ""
	s.proto["contact"] = Contact{}
	s.proto["input"] = ""
	s.proto["now"] = time.Time{}
	s.proto["env"] = map[string]string{}
	s.proto[meterName] = (*meter)(nil)
	s.opts = []expr.Option{
		expr.Env(s.proto),
		expr.MaxNodes(MaxNodes),
		expr.Function("replace", safeReplace, new(func(string, string, string) string)),
		expr.Function("join", safeJoin, new(func([]any, string) string), new(func([]string, string) string)),
		expr.Function(addFunc, safeAdd),
		expr.Patch(addPatcher{}),
		expr.Function(matchFunc, s.patterns.match, new(func(*meter, any, any) bool)),
	}
	for _, b := range disabledBuiltins {
		s.opts = append(s.opts, expr.DisableBuiltin(b))
	}
	return s
}

// Vars returns the declared variables in declaration order.
func (s *Schema) Vars() []Var { return s.vars }

// Lookup returns the declared type of a variable.
func (s *Schema) Lookup(name string) (Type, bool) {
	i, ok := s.index[name]
	if !ok {
		return TypeAny, false
	}
	return s.vars[i].Type, true
}

func safeJoin(params ...any) (any, error) {
	sep := params[1].(string)
	var parts []string
	switch l := params[0].(type) {
	case []string:
		parts = l
	case []any:
		parts = make([]string, len(l))
		for i, e := range l {
			parts[i] = Format(e)
		}
	}
	n := 0
	for _, p := range parts {
		n += len(p) + len(sep)
		if n > MaxString {
			return nil, ErrTooLarge
		}
	}
	return strings.Join(parts, sep), nil
}

func safeReplace(params ...any) (any, error) {
	s, old, repl := params[0].(string), params[1].(string), params[2].(string)
	n := strings.Count(s, old)
	if len(s)+n*(len(repl)-len(old)) > MaxString {
		return nil, ErrTooLarge
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// Expr is a compiled expression.
type Expr struct {
	src    string
	prog   *vm.Program
	result reflect.Type
	// metered is set when the budget patch added counting: only then does
	// the evaluation need the meter in its map (a ninth entry costs a small
	// map three more allocations).
	metered bool
}

// Source returns the expression as written.
func (e *Expr) Source() string { return e.src }

// CompileExpr compiles an expression of any type.
func (s *Schema) CompileExpr(src string) (*Expr, error) {
	return s.compile(src)
}

// CompileCond compiles an expression that must yield a boolean.
func (s *Schema) CompileCond(src string) (*Expr, error) {
	return s.compile(src, expr.AsBool())
}

func (s *Schema) compile(src string, extra ...expr.Option) (e *Expr, err error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	// expr-lang's parser is robust, but a panic here must never take down the
	// process that validates a stranger's flow.
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("expression rejected: %v", r)
		}
	}()
	opts := s.opts
	if len(extra) > 0 {
		opts = append(append([]expr.Option(nil), s.opts...), extra...)
	}
	// expr.Compile, with the budget patch between checking and compiling:
	// the user's expression is checked as written (so errors name its own
	// operators and functions), then rewritten to count its work.
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		ce := &CompileError{Msg: cleanError(err).Error()}
		var fe *file.Error
		if errors.As(err, &fe) {
			ce.Msg, ce.Offset = fe.Message, fe.From
		}
		return nil, ce
	}
	result := tree.Node.Type()
	patch, err := staticCheck(tree.Node)
	if err != nil {
		return nil, err
	}
	ast.Walk(&tree.Node, patch)
	if _, err := checker.Check(tree, config); err != nil {
		return nil, fmt.Errorf("expression rejected: budget patch: %w", cleanError(err))
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			return nil, &CompileError{Msg: cleanError(err).Error()}
		}
	}
	prog, err := compiler.Compile(tree, config)
	if err != nil {
		return nil, &CompileError{Msg: cleanError(err).Error()}
	}
	return &Expr{src: src, prog: prog, result: result, metered: patch.metered}, nil
}

// CompileError is an expression that does not compile, with where in its
// source (in characters from the start) the problem is, so a validator can
// point at the misspelt name rather than at the start of the line.
type CompileError struct {
	Msg    string
	Offset int
}

func (e *CompileError) Error() string { return e.Msg }

// cleanError keeps the first line of expr's message: the rest is an ASCII
// drawing of the source that reads badly after file:line:col.
func cleanError(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

// Eval runs the expression against env, within a fresh budget.
func (e *Expr) Eval(env *Env) (any, error) {
	m := env.Map()
	if env.meter != nil {
		env.meter.reset()
	}
	return e.run(env, m)
}

// run evaluates against m, env's map, charging env's meter.
func (e *Expr) run(env *Env, m map[string]any) (out any, err error) {
	if e.metered {
		if env.meter == nil {
			env.meter = &meter{}
		}
		m[meterName] = env.meter
	}
	v := vmPool.Get().(*vm.VM)
	v.MemoryBudget = MemoryBudget
	defer vmPool.Put(v)
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("evaluate %q: %v", e.src, r)
		}
	}()
	out, err = v.Run(e.prog, m)
	if err != nil {
		var be *BudgetError
		switch {
		case errors.As(err, &be):
			return nil, fmt.Errorf("evaluate %q: %w", e.src, be)
		case strings.Contains(err.Error(), "memory budget exceeded"):
			// expr-lang's own budget on ranges, lists and maps (MemoryBudget).
			return nil, fmt.Errorf("evaluate %q: %w", e.src, errMemory)
		}
		return nil, fmt.Errorf("evaluate %q: %w", e.src, cleanError(err))
	}
	if s, ok := out.(string); ok && len(s) > MaxString {
		// upper() of invalid UTF-8 and the like can grow a string past the bound.
		return nil, fmt.Errorf("evaluate %q: %w", e.src, ErrTooLarge)
	}
	return out, nil
}

// EvalBool runs a condition.
func (e *Expr) EvalBool(env *Env) (bool, error) {
	out, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: got %T, want a boolean", e.src, out)
	}
	return b, nil
}

// Env is the set of values one evaluation sees. The engine fills it lazily:
// most steps evaluate nothing, so the map is built only on first use.
type Env struct {
	Schema  *Schema
	Vars    map[string]any
	Score   float64
	Tags    []string
	Segment string
	Contact Contact
	Input   string
	Now     time.Time
	EnvVars map[string]string

	m     map[string]any
	valid bool
	// meter is made on the first evaluation that counts its work; a
	// pointer, so that putting it in m does not move Env to the heap.
	meter *meter
}

// used is the work the last evaluation spent.
func (e *Env) used() int {
	if e.meter == nil {
		return 0
	}
	return e.meter.used
}

// Invalidate drops the cached map after the engine changed a value.
func (e *Env) Invalidate() { e.valid = false }

// Map returns the values as the map expressions run against.
func (e *Env) Map() map[string]any {
	if e.valid {
		return e.m
	}
	s := e.Schema
	if e.m == nil {
		e.m = make(map[string]any, len(s.vars)+len(reserved))
	}
	for _, v := range s.vars {
		val, ok := e.Vars[v.Name]
		if !ok || val == nil {
			val = s.proto[v.Name]
		}
		e.m[v.Name] = val
	}
	e.m["score"] = e.Score
	if e.Tags == nil {
		e.m["tags"] = []string{}
	} else {
		e.m["tags"] = e.Tags
	}
	e.m["segment"] = e.Segment
	e.m["contact"] = e.Contact
	e.m["input"] = e.Input
	e.m["now"] = e.Now
	if e.EnvVars == nil {
		e.m["env"] = map[string]string{}
	} else {
		e.m["env"] = e.EnvVars
	}
	e.valid = true
	return e.m
}

// Convert turns an evaluated value into the declared type of a variable.
func Convert(v any, t Type) (any, error) {
	switch t {
	case TypeAny:
		return normalize(v), nil
	case TypeString:
		return Format(v), nil
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		}
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(x)
			if err == nil {
				return b, nil
			}
		}
	case TypeDate:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			d, err := time.Parse("2006-01-02", x)
			if err == nil {
				return d, nil
			}
		}
	case TypeList:
		if l, ok := normalize(v).([]any); ok {
			return l, nil
		}
	case TypeObject:
		if m, ok := normalize(v).(map[string]any); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("cannot use %s as %s", describe(v), t)
}

func describe(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// normalize maps the values expressions produce onto the few kinds state can
// store: float64, string, bool, time.Time, []any, map[string]any.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, float64, string, bool, time.Time, []any, map[string]any:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float32:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	case time.Duration:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out
	}
	return fmt.Sprint(v)
}

// Normalize is normalize for callers outside the package (webhook bodies, test vars).
func Normalize(v any) any { return normalize(v) }

// Format renders a value the way a person expects to read it in a message:
// 150000 not 1.5e+05, dates as 2006-01-02, lists joined with commas.
func Format(v any) string {
	return string(AppendFormat(nil, v))
}

// AppendFormat is Format appending to b. A list stops after MaxString bytes
// (with "…"): a 5,000-item list of long strings is not a message.
func AppendFormat(b []byte, v any) []byte {
	return appendFormat(b, v, len(b)+MaxString)
}

// appendFormat stops adding list items once b is longer than limit.
func appendFormat(b []byte, v any, limit int) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case string:
		return append(b, x...)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		if x.IsZero() {
			return b
		}
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.AppendFormat(b, "2006-01-02")
		}
		return x.AppendFormat(b, "2006-01-02 15:04")
	case []any:
		for i, e := range x {
			if len(b) > limit {
				return append(b, "…"...)
			}
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendFormat(b, e, limit)
		}
		return b
	case []string:
		for i, e := range x {
			if len(b) > limit {
				return append(b, "…"...)
			}
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, e...)
		}
		return b
	}
	return fmt.Append(b, v)
}

// ResultType is the type the checker inferred for the expression, or nil.
func (e *Expr) ResultType() reflect.Type {
	return e.result
}
