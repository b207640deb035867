package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Counter documents are stored as their counters sorted by name, each a
// uvarint name length, the name and the value's float64 bits (little
// endian), after a version byte. A month document of a busy bot holds a
// few thousand counters (histogram buckets, previous-day keys), and each
// flush adds to it: merging the batch's few sorted names into the stored
// list copies bytes instead of decoding and encoding a JSON map, and a
// year's report decodes a dozen such documents per flow version and
// source without parsing text. Documents written before as a JSON object
// are read as before and rewritten in this form on their next change.
const countersV1 = 0x01

var errCounters = errors.New("malformed counter document")

// forEachCounter calls f with each counter of an encoded document, in
// name order. name is a substring of s (no copy).
func forEachCounter(s string, f func(name string, v float64)) error {
	if len(s) == 0 {
		return nil
	}
	if s[0] != countersV1 {
		return fmt.Errorf("version %d: %w", s[0], errCounters)
	}
	for i := 1; i < len(s); {
		n, w := uvarintString(s[i:])
		if w <= 0 || uint64(len(s)-i-w) < n+8 {
			return errCounters
		}
		i += w
		name := s[i : i+int(n)]
		i += int(n)
		f(name, math.Float64frombits(le64(s[i:i+8])))
		i += 8
	}
	return nil
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// decodeCounters reads a stored counter document (either form). The
// names share one string allocation.
func decodeCounters(v []byte) (map[string]float64, error) {
	if len(v) > 0 && v[0] == '{' {
		c := map[string]float64{}
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, err
		}
		return c, nil
	}
	c := make(map[string]float64, len(v)/24)
	err := forEachCounter(string(v), func(name string, x float64) { c[name] = x })
	return c, err
}

func appendCounter(b []byte, name string, v float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// mergeCounters adds delta to the stored document old (nil when none)
// and returns the new encoding; counters that come to zero are dropped.
func mergeCounters(old []byte, delta map[string]float64) ([]byte, error) {
	if len(old) > 0 && old[0] == '{' {
		c, err := decodeCounters(old)
		if err != nil {
			return nil, err
		}
		for k, n := range delta {
			c[k] += n
		}
		return mergeCounters(nil, c)
	}
	names := make([]string, 0, len(delta))
	for k := range delta {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]byte, 1, len(old)+len(delta)*24+1)
	out[0] = countersV1
	i := 0
	emit := func(name string, v float64) {
		if v != 0 {
			out = appendCounter(out, name, v)
		}
	}
	err := forEachCounter(string(old), func(name string, v float64) {
		for i < len(names) && names[i] < name {
			emit(names[i], delta[names[i]])
			i++
		}
		if i < len(names) && names[i] == name {
			v += delta[name]
			i++
		}
		emit(name, v)
	})
	if err != nil {
		return nil, err
	}
	for ; i < len(names); i++ {
		emit(names[i], delta[names[i]])
	}
	return out, nil
}
