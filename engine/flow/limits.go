package flow

import (
	"bytes"
	"io"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxNodes bounds the number of YAML values (mappings, lists, keys and
// scalars) a flow document may hold once its aliases are expanded. A
// 10,000-node funnel with three buttons on every node is about 250,000;
// the example funnels are under 1,500. Aliases cannot take a document past
// what a plain document of that many values could do, so one small anchor
// referenced a thousand times is refused before it is decoded.
const MaxNodes = 500_000

// MaxExpanded bounds the text (keys and scalar values, in bytes) a flow
// document may hold once its aliases are expanded: no more than a plain
// document of MaxDocument bytes could hold.
const MaxExpanded = MaxDocument

// estimateNodes counts, without parsing, generously how many YAML values a
// document can hold: every value but the root is introduced by an
// indicator (`:`, `- `, `? `, `,`, `[`, `{`), and none brings more than two
// values. Indicators inside quoted text count too, which only makes the
// estimate larger. It lets Parse refuse a document of a few megabytes of
// `[a,a,a,…]`, which would take gigabytes as a yaml.Node tree, before the
// tree is built.
func estimateNodes(data []byte) int {
	n := 1
	for i, c := range data {
		switch c {
		case ':', ',', '[', '{':
			n += 2
		case '-', '?':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\r' || data[i+1] == '\t' {
				n += 2
			}
		}
	}
	return n
}

// sizeError is a document over MaxNodes or MaxExpanded once expanded.
type sizeError struct {
	at     *yaml.Node // the alias (or value) at which the limit was passed
	nodes  int
	bytes  int
	cyclic bool
}

// expandedSize is the size of a value with its aliases expanded.
type expandedSize struct{ nodes, bytes int }

// sizer walks a yaml.Node tree counting its expanded size. Each anchored
// value is counted once and its size reused for every alias of it, so the
// walk costs the size of the tree as written, not as expanded.
type sizer struct {
	memo map[*yaml.Node]expandedSize
	busy map[*yaml.Node]bool // anchored values being counted: an alias to one is a cycle
	err  *sizeError
	// alias is the last alias counted: where a document over the limit is
	// reported, since an alias is what took it there.
	alias *yaml.Node
}

// checkExpanded refuses a document larger than the limits once its aliases
// are expanded; nil when it fits.
func checkExpanded(root *yaml.Node) *sizeError {
	s := &sizer{memo: map[*yaml.Node]expandedSize{}, busy: map[*yaml.Node]bool{}}
	s.size(root)
	return s.err
}

func (s *sizer) size(n *yaml.Node) expandedSize {
	if s.err != nil || n == nil {
		return expandedSize{}
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return expandedSize{nodes: 1}
		}
		if s.busy[t] {
			s.err = &sizeError{at: n, cyclic: true}
			return expandedSize{}
		}
		s.alias = n
		if z, ok := s.memo[t]; ok {
			return z
		}
		return s.size(t)
	}
	if n.Anchor != "" {
		if z, ok := s.memo[n]; ok {
			return z
		}
		s.busy[n] = true
		defer delete(s.busy, n)
	}
	z := expandedSize{nodes: 1, bytes: len(n.Value)}
	for _, c := range n.Content {
		cz := s.size(c)
		if s.err != nil {
			return z
		}
		// Both limits are far below overflow, and a sum is checked as soon
		// as it is formed, so the sums stay small.
		z.nodes += cz.nodes
		z.bytes += cz.bytes
		if z.nodes > MaxNodes || z.bytes > MaxExpanded {
			where := s.alias
			if where == nil {
				where = c
			}
			s.err = &sizeError{at: where, nodes: z.nodes, bytes: z.bytes}
			return z
		}
	}
	if n.Anchor != "" {
		s.memo[n] = z
	}
	return z
}

// countingReader hands yaml.v3 its input one byte at a time, so that when
// the parser stops at a syntax error, off tells how far it read: the error
// is at most a token of look-ahead before it.
type countingReader struct {
	data []byte
	off  int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[r.off]
	r.off++
	return 1, nil
}

// lineCol is the 1-based line and column of the byte at off; columns count
// characters, as yaml.v3's do.
func lineCol(data []byte, off int) Pos {
	off = max(0, min(off, len(data)))
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return Pos{Line: 1 + bytes.Count(data[:off], []byte("\n")), Col: 1 + utf8.RuneCount(data[start:off])}
}
