package eval

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"
	"sync"
)

// Budget limits. Every evaluation (one expression, or one template with all
// its holes) gets MaxWork units of work. They are counted, not timed, so an
// evaluation that runs out does so at the same point on every machine and the
// engine stays deterministic. A unit is a few nanoseconds of CPU at most
// (BenchmarkHostile measures the costliest kinds), so an evaluation costs a
// few milliseconds at worst; a flow's ordinary condition costs a few hundred at most.
//
// What costs what:
//   - one pass of a loop body (map, filter, count, all, reduce, sortBy...):
//     passBase, plus passUnits per syntax node of the body, plus passFactor
//     of the built-in;
//   - a built-in function, a flow function, +, ==, <, in, contains,
//     startsWith, endsWith reading strings or lists: 1 plus the bytes of the
//     strings and the items of the lists it is given, times costFactor of
//     the built-in (1 if not listed);
//   - a regular expression match: the input bytes times the instructions of
//     the compiled pattern times regexUnits, plus compiling a pattern that is
//     not written in the expression.
const (
	MaxWork = 1_000_000
	// MaxRange bounds a literal a..b range and, through MemoryBudget, the
	// items of every range, list and map one evaluation builds.
	MaxRange = MemoryBudget
	// MaxPattern bounds the source of a regular expression, in bytes.
	MaxPattern = 512
	// MaxPatternInst bounds a compiled regular expression (instructions of
	// Go's regexp program): `^(.*a){20}b$` is 105, `[0-9]{1000}` (the longest repeat Go allows) 1002.
	MaxPatternInst = 1200
	// passBase is the work of one pass of a loop besides its body: the
	// loop's own steps and the count (about 100 ns, the most of any pass).
	passBase = 64
	// passUnits is the work of one node of a loop body, once.
	passUnits = 8
	// regexUnits is the work of one instruction of a pattern on one byte.
	regexUnits = 2
	// maxPatternCache bounds the patterns a schema keeps compiled.
	maxPatternCache = 64
)

// ErrBudget reports an evaluation that ran out of its work, memory or output
// budget. The engine treats it as an error of the node (see engine.Step).
var ErrBudget = errors.New("over the evaluation budget")

// BudgetError says which budget ran out.
type BudgetError struct {
	What string // "work", "memory", "output", "pattern"
}

func (e *BudgetError) Error() string { return "over the evaluation budget (" + e.What + ")" }

// Is makes errors.Is(err, ErrBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

var (
	errWork    = &BudgetError{What: "work"}
	errMemory  = &BudgetError{What: "memory"}
	errPattern = &BudgetError{What: "pattern"}
)

// meter counts the work of one evaluation. Expressions reach it through the
// hidden meterName variable that the budget patch passes to the counting
// functions; a user cannot name it (names starting with __ are refused).
type meter struct {
	used int
}

func (m *meter) reset() { m.used = 0 }

func (m *meter) charge(n int) error {
	if n < 0 {
		n = 0
	}
	m.used += n
	if m.used > MaxWork {
		return errWork
	}
	return nil
}

// Names the budget patch introduces. All start with "__", which user
// expressions may not use.
const (
	meterName = "__m"
	matchFunc = "__match"
	letPrefix = "__b"
)

// size is what a value counts for when a function or operator reads it.
func size(v any) int {
	switch x := v.(type) {
	case nil, bool, int, float64, int64:
		return 0
	case string:
		return len(x)
	case []byte:
		return len(x)
	case []any:
		return len(x)
	case []string:
		return len(x)
	case []int:
		return len(x)
	case map[string]any:
		return len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	}
	return 0
}

// deepSize is size counting the strings and items inside lists and maps
// too, for the functions that print a whole value (string()). It stops
// counting past MaxWork.
func deepSize(v any) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > MaxWork {
			return
		}
		n++
		switch x := v.(type) {
		case string:
			n += len(x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				n += len(k)
				walk(e)
			}
		default:
			n += size(v)
		}
	}
	walk(v)
	return n
}

func meterOf(v any) *meter {
	m, ok := v.(*meter)
	if !ok || m == nil {
		// Only an Env's map holds the meter; anything else is a bug here.
		panic(errors.New("no evaluation budget"))
	}
	return m
}

// The counting functions are called as constants placed in the expression
// by the budget patch, with the signature func(any, any) bool that expr-lang
// calls directly (OpCallTyped): no reflection and no allocation per call,
// which matters inside loops. They panic with a *BudgetError, which the VM
// turns into the evaluation's error.

// tick charges one pass of a loop body: tick(__m, nodes).
func tick(m, n any) bool {
	if err := meterOf(m).charge(n.(int)); err != nil {
		panic(err)
	}
	return true
}

// costFunc returns the function charging 1 + f × size(operand).
func costFunc(f int, deep bool) func(m, v any) bool {
	return func(m, v any) bool {
		n := 0
		if deep {
			n = deepSize(v)
		} else {
			n = size(v)
		}
		if err := meterOf(m).charge(1 + f*n); err != nil {
			panic(err)
		}
		return true
	}
}

// costFactor is how many units a built-in costs per byte or item it reads,
// measured (BenchmarkHostile) to keep a unit under a few nanoseconds. Those
// not listed cost one.
var costFactor = map[string]int{
	"fromJSON":   64,
	"fromBase64": 4,
	"toBase64":   4,
	"upper":      8,
	"lower":      8,
	"trim":       2,
	"split":      32,
	"splitAfter": 32,
	"sort":       16,
	"uniq":       128,
	"toPairs":    128,
	"fromPairs":  128,
	"keys":       128,
	"values":     128,
	"max":        4,
	"min":        4,
	"sum":        4,
	"mean":       4,
	"median":     16,
	"string":     64, // by deep size: every item and byte printed
}

// passFactor is what a loop built-in adds to each pass of its body.
var passFactor = map[string]int{
	"groupBy": 128,
	"sortBy":  32,
}

// pattern is a compiled regular expression and what matching it costs per byte.
type pattern struct {
	re   *regexp.Regexp
	inst int
}

func compilePattern(src string) (*pattern, error) {
	if len(src) > MaxPattern {
		return nil, fmt.Errorf("%w: regular expression longer than %d bytes", errPattern, MaxPattern)
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	// regexp does not say how large its program is; compile it again the
	// way regexp does to count the instructions the matcher steps through.
	sre, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(sre.Simplify())
	if err != nil {
		return nil, err
	}
	if n := len(prog.Inst); n > MaxPatternInst {
		return nil, fmt.Errorf("%w: regular expression too large (%d instructions, at most %d)", errPattern, n, MaxPatternInst)
	}
	return &pattern{re: re, inst: len(prog.Inst)}, nil
}

// patternCache keeps the patterns built at run time, so that a pattern taken
// from a variable is compiled once per flow version, not once per message.
type patternCache struct {
	mu sync.Mutex
	m  map[string]*pattern
}

func (c *patternCache) get(src string) (*pattern, bool, error) {
	c.mu.Lock()
	p, ok := c.m[src]
	c.mu.Unlock()
	if ok {
		return p, true, nil
	}
	p, err := compilePattern(src)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxPatternCache {
		c.m = make(map[string]*pattern, maxPatternCache)
	}
	c.m[src] = p
	c.mu.Unlock()
	return p, false, nil
}

// matcher returns the function that matches text against p: matcher(__m, text).
func (p *pattern) matcher() func(m, text any) bool {
	return func(m, text any) bool {
		ok, err := matchWith(meterOf(m), p, text)
		if err != nil {
			panic(err)
		}
		return ok
	}
}

func matchWith(m *meter, p *pattern, text any) (bool, error) {
	switch x := text.(type) {
	case string:
		if err := m.charge(1 + len(x)*p.inst*regexUnits); err != nil {
			return false, err
		}
		return p.re.MatchString(x), nil
	case []byte:
		if err := m.charge(1 + len(x)*p.inst*regexUnits); err != nil {
			return false, err
		}
		return p.re.Match(x), nil
	}
	return false, &TypeError{Op: "matches", A: text, B: p.re.String()}
}

// match is "matches" with a pattern built at run time:
// __match(__m, text, pattern). Patterns are cached per schema.
func (c *patternCache) match(params ...any) (any, error) {
	m := meterOf(params[0])
	src, ok := params[2].(string)
	if !ok {
		return nil, &TypeError{Op: "matches", A: params[1], B: params[2]}
	}
	p, cached, err := c.get(src)
	if err != nil {
		return nil, fmt.Errorf("matches: %w", err)
	}
	if !cached {
		// Compiling costs far more per byte than matching.
		if err := m.charge(len(src) * 32); err != nil {
			return nil, err
		}
	}
	return matchWith(m, p, params[1])
}
