package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The state encoding is a tag-length-value format in the style of protocol
// buffers: every field carries its number and wire type, so a later release
// can add fields and still read states written today, and today's release
// skips fields it does not know. The first two bytes are a magic byte and
// the encoding version.
const (
	stateMagic   = 0xB7
	stateVersion = 1
)

const (
	wireVarint = 0
	wireFixed  = 1
	wireBytes  = 2
)

// Field numbers. Never reuse or renumber one: stored states depend on them.
const (
	fFlow         = 1
	fVersion      = 2
	fNode         = 3
	fStatus       = 4
	fWait         = 5
	fVar          = 6
	fTag          = 7
	fScore        = 8
	fAttempts     = 9
	fTimer        = 10
	fWebhook      = 11
	fSeq          = 12
	fSplit        = 13
	fUnsubscribed = 14
	fContact      = 15
	fStarted      = 16
	fLastActive   = 17
)

// Value type bytes inside a variable.
const (
	vNil    = 0
	vString = 1
	vFloat  = 2
	vTrue   = 3
	vFalse  = 4
	vTime   = 5
	vList   = 6
	vMap    = 7
)

// maxDepth bounds nesting of list and map values (webhook responses).
const maxDepth = 32

// ErrCorruptState reports a state that cannot be decoded.
var ErrCorruptState = errors.New("corrupt conversation state")

// Interner turns bytes into a string without allocating when the string is
// already known (node ids, variable names of the flow).
type Interner interface {
	Intern(b []byte) string
}

// AppendState encodes st onto buf. The encoding is deterministic: the same
// state always gives the same bytes.
func AppendState(buf []byte, st *State) []byte {
	buf = append(buf, stateMagic, stateVersion)
	buf = appendString(buf, fFlow, st.Flow)
	buf = appendUint(buf, fVersion, uint64(st.Version))
	buf = appendString(buf, fNode, st.Node)
	buf = appendUint(buf, fStatus, uint64(st.Status))
	buf = appendUint(buf, fWait, uint64(st.Wait))
	if len(st.Vars) > 0 {
		var arr [16]string
		names := arr[:0]
		for k := range st.Vars {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			buf = appendKey(buf, fVar, wireBytes)
			start := len(buf)
			buf = append(buf, 0, 0, 0, 0, 0) // up to 5 bytes of length, fixed below
			body := len(buf)
			buf = binary.AppendUvarint(buf, uint64(len(k)))
			buf = append(buf, k...)
			buf = appendValue(buf, st.Vars[k])
			buf = fixLength(buf, start, body)
		}
	}
	for _, t := range st.Tags {
		buf = appendString(buf, fTag, t)
	}
	if st.Score != 0 {
		buf = appendKey(buf, fScore, wireFixed)
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(st.Score))
	}
	buf = appendUint(buf, fAttempts, uint64(st.Attempts))
	buf = appendUint(buf, fTimer, uint64(st.Timer))
	buf = appendUint(buf, fWebhook, uint64(st.Webhook))
	buf = appendUint(buf, fSeq, uint64(st.Seq))
	for _, s := range st.Splits {
		buf = appendKey(buf, fSplit, wireBytes)
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0)
		body := len(buf)
		buf = binary.AppendUvarint(buf, uint64(len(s.Node)))
		buf = append(buf, s.Node...)
		buf = binary.AppendUvarint(buf, uint64(len(s.Variant)))
		buf = append(buf, s.Variant...)
		buf = fixLength(buf, start, body)
	}
	if st.Unsubscribed {
		buf = appendUint(buf, fUnsubscribed, 1)
	}
	c := st.Contact
	if c != (Contact{}) {
		buf = appendKey(buf, fContact, wireBytes)
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0)
		body := len(buf)
		for i, s := range [...]string{c.FirstName, c.LastName, c.Username, c.Language, c.Channel, c.Phone, c.Source} {
			buf = appendString(buf, i+1, s)
		}
		buf = fixLength(buf, start, body)
	}
	buf = appendTime(buf, fStarted, st.Started)
	buf = appendTime(buf, fLastActive, st.LastActive)
	return buf
}

// fixLength writes the length of buf[body:] as a 5-byte padded uvarint at
// buf[start:body]. Padded varints (continuation bits on leading zero groups)
// decode like ordinary ones and spare a second pass or a copy.
func fixLength(buf []byte, start, body int) []byte {
	n := uint64(len(buf) - body)
	for i := 0; i < 5; i++ {
		b := byte(n & 0x7f)
		n >>= 7
		if i < 4 {
			b |= 0x80
		}
		buf[start+i] = b
	}
	return buf
}

func appendKey(buf []byte, field, wire int) []byte {
	return binary.AppendUvarint(buf, uint64(field)<<3|uint64(wire))
}

func appendUint(buf []byte, field int, v uint64) []byte {
	if v == 0 {
		return buf
	}
	buf = appendKey(buf, field, wireVarint)
	return binary.AppendUvarint(buf, v)
}

func appendString(buf []byte, field int, s string) []byte {
	if s == "" {
		return buf
	}
	buf = appendKey(buf, field, wireBytes)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendTime(buf []byte, field int, t time.Time) []byte {
	if t.IsZero() {
		return buf
	}
	buf = appendKey(buf, field, wireVarint)
	return binary.AppendVarint(buf, t.UnixNano())
}

func appendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, vNil)
	case string:
		buf = append(buf, vString)
		buf = binary.AppendUvarint(buf, uint64(len(x)))
		return append(buf, x...)
	case float64:
		buf = append(buf, vFloat)
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	case int:
		return appendValue(buf, float64(x))
	case bool:
		if x {
			return append(buf, vTrue)
		}
		return append(buf, vFalse)
	case time.Time:
		buf = append(buf, vTime)
		return binary.AppendVarint(buf, x.UnixNano())
	case []any:
		buf = append(buf, vList)
		buf = binary.AppendUvarint(buf, uint64(len(x)))
		for _, e := range x {
			buf = appendValue(buf, e)
		}
		return buf
	case map[string]any:
		buf = append(buf, vMap)
		buf = binary.AppendUvarint(buf, uint64(len(x)))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			buf = binary.AppendUvarint(buf, uint64(len(k)))
			buf = append(buf, k...)
			buf = appendValue(buf, x[k])
		}
		return buf
	}
	// Values outside the state model are stored as text rather than lost.
	return appendValue(buf, fmt.Sprint(v))
}

// DecodeState decodes a state written by AppendState (of this or an earlier
// release). in may be nil.
func DecodeState(data []byte, in Interner) (*State, error) {
	st := &State{}
	if err := decodeInto(st, data, in); err != nil {
		return nil, err
	}
	return st, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrCorruptState
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) fixed() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func str(b []byte, in Interner) string {
	if in != nil {
		return in.Intern(b)
	}
	return string(b)
}

func decodeInto(st *State, data []byte, in Interner) error {
	if len(data) < 2 || data[0] != stateMagic {
		return fmt.Errorf("%w: bad header", ErrCorruptState)
	}
	if data[1] > stateVersion {
		return fmt.Errorf("%w: encoding version %d is newer than this release reads (%d)", ErrCorruptState, data[1], stateVersion)
	}
	r := &reader{b: data[2:]}
	for len(r.b) > 0 && r.err == nil {
		key := r.uvarint()
		field, wire := int(key>>3), int(key&7)
		switch wire {
		case wireVarint:
			if field == fStarted || field == fLastActive {
				t := time.Unix(0, r.varint()).UTC()
				if field == fStarted {
					st.Started = t
				} else {
					st.LastActive = t
				}
				continue
			}
			v := r.uvarint()
			switch field {
			case fVersion:
				st.Version = int(v)
			case fStatus:
				st.Status = Status(v)
			case fWait:
				st.Wait = Wait(v)
			case fAttempts:
				st.Attempts = int(v)
			case fTimer:
				st.Timer = uint32(v)
			case fWebhook:
				st.Webhook = uint32(v)
			case fSeq:
				st.Seq = uint32(v)
			case fUnsubscribed:
				st.Unsubscribed = v != 0
			}
		case wireFixed:
			v := r.fixed()
			if field == fScore {
				st.Score = math.Float64frombits(v)
			}
		case wireBytes:
			b := r.bytes()
			switch field {
			case fFlow:
				st.Flow = str(b, in)
			case fNode:
				st.Node = str(b, in)
			case fTag:
				st.Tags = append(st.Tags, str(b, in))
			case fVar:
				sub := &reader{b: b}
				name := str(sub.bytes(), in)
				val := sub.value(0)
				if sub.err != nil {
					r.fail()
					break
				}
				if st.Vars == nil {
					st.Vars = make(map[string]any, 4)
				}
				st.Vars[name] = val
			case fSplit:
				sub := &reader{b: b}
				node := str(sub.bytes(), in)
				variant := str(sub.bytes(), in)
				if sub.err != nil {
					r.fail()
					break
				}
				st.Splits = append(st.Splits, SplitChoice{Node: node, Variant: variant})
			case fContact:
				st.Contact = decodeContact(b)
			}
		default:
			r.fail()
		}
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

func decodeContact(b []byte) Contact {
	var c Contact
	r := &reader{b: b}
	for len(r.b) > 0 && r.err == nil {
		key := r.uvarint()
		if key&7 != wireBytes {
			return c
		}
		s := string(r.bytes())
		switch key >> 3 {
		case 1:
			c.FirstName = s
		case 2:
			c.LastName = s
		case 3:
			c.Username = s
		case 4:
			c.Language = s
		case 5:
			c.Channel = s
		case 6:
			c.Phone = s
		case 7:
			c.Source = s
		}
	}
	return c
}

func (r *reader) value(depth int) any {
	if depth > maxDepth || len(r.b) == 0 {
		r.fail()
		return nil
	}
	t := r.b[0]
	r.b = r.b[1:]
	switch t {
	case vNil:
		return nil
	case vString:
		return string(r.bytes())
	case vFloat:
		return math.Float64frombits(r.fixed())
	case vTrue:
		return true
	case vFalse:
		return false
	case vTime:
		return time.Unix(0, r.varint()).UTC()
	case vList:
		n := r.uvarint()
		if n > uint64(len(r.b)) { // every element takes at least one byte
			r.fail()
			return nil
		}
		l := make([]any, n)
		for i := range l {
			l[i] = r.value(depth + 1)
		}
		return l
	case vMap:
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			return nil
		}
		m := make(map[string]any, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			k := string(r.bytes())
			m[k] = r.value(depth + 1)
		}
		return m
	}
	r.fail()
	return nil
}
