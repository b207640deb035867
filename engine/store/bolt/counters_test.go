package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
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

// TestCounterDocumentsReadWithoutParsing: a month document of a busy bot
// holds thousands of counters; reading it back takes a few allocations
// whatever their number (its names share one string), where decoding a
// JSON object took at least one per counter; and a flush adding a few
// counters to it rewrites it without decoding it into a map.
func TestCounterDocumentsReadWithoutParsing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, &Options{NoSync: true})
	month := map[string]float64{}
	for i := range 4000 {
		month["rt|"+strconv.Itoa(i)] = float64(i%7 + 1)
	}
	doc := store.RollupDoc{Bot: "b", Day: "2026-03", Flow: "f", Version: 1, C: month}
	if err := s.ApplyRollup(ctx, store.RollupBatch{Deltas: []store.RollupDoc{doc}}); err != nil {
		t.Fatal(err)
	}
	read := testing.AllocsPerRun(5, func() {
		docs, err := s.RollupDocs(ctx, "b", "2026-03", "2026-03")
		if err != nil || len(docs) != 1 || len(docs[0].C) != 4000 {
			t.Fatalf("read %d documents, %v", len(docs), err)
		}
	})
	if read > 100 {
		t.Errorf("reading a document of 4,000 counters: %.0f allocations, want at most 100", read)
	}
	small := store.RollupDoc{Bot: "b", Day: "2026-03", Flow: "f", Version: 1, C: map[string]float64{"in": 1, "rt|17": 1}}
	var merge float64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		rb := tx.Bucket(bRollups)
		k := rollupKey(&small)
		merge = testing.AllocsPerRun(5, func() {
			if _, err := mergeCounters(rb.Get(k), small.C); err != nil {
				t.Fatal(err)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if merge > 10 {
		t.Errorf("adding 2 counters to 4,000: %.0f allocations, want at most 10", merge)
	}
}
