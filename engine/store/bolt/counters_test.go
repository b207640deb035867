package bolt

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
)

// TestCountersMerge: adding batches to a counter document in either
// stored form gives the sums, drops counters that come to zero, and a
// damaged document is an error, not a panic.
func TestCountersMerge(t *testing.T) {
	legacy, _ := json.Marshal(map[string]float64{"in": 3, "ph|0|9": 1, "sesd|0": 1})
	for _, tc := range []struct {
		name   string
		old    []byte
		deltas []map[string]float64
		want   map[string]float64
	}{
		{"new", nil, []map[string]float64{{"in": 1, "goalv|lead": 2.5}}, map[string]float64{"in": 1, "goalv|lead": 2.5}},
		{"merged in order", nil, []map[string]float64{{"b": 1, "d": 1}, {"a": 1, "c": 2, "d": 1, "e": -1}},
			map[string]float64{"a": 1, "b": 1, "c": 2, "d": 2, "e": -1}},
		{"zero dropped", nil, []map[string]float64{{"sesd|0": 1, "in": 1}, {"sesd|0": -1, "sesd|5": 1}},
			map[string]float64{"in": 1, "sesd|5": 1}},
		{"from JSON", legacy, []map[string]float64{{"in": 2, "sesd|0": -1, "sesd|40": 1}},
			map[string]float64{"in": 5, "ph|0|9": 1, "sesd|40": 1}},
		{"long names", nil, []map[string]float64{{string(make([]byte, 300)): 7}}, map[string]float64{string(make([]byte, 300)): 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.old
			for _, d := range tc.deltas {
				var err error
				if v, err = mergeCounters(v, d); err != nil {
					t.Fatal(err)
				}
			}
			got, err := decodeCounters(v)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	good, _ := mergeCounters(nil, map[string]float64{"in": 1})
	for _, bad := range [][]byte{{2, 1, 'a'}, good[:len(good)-1], {countersV1, 0x80}, {countersV1, 5, 'a'}} {
		if _, err := decodeCounters(bad); !errors.Is(err, errCounters) {
			t.Errorf("decode %v: %v, want errCounters", bad, err)
		}
		if _, err := mergeCounters(bad, map[string]float64{"in": 1}); err == nil {
			t.Errorf("merge into %v: no error", bad)
		}
	}
}
