package analytics_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
)

// yearOfRollups folds a year of simulated conversations (conversation by
// conversation, without storing the raw events) and writes the counters:
// what a year of a busy bot leaves in the rollups. VORONKA_BENCH_CONVS
// sets how many conversations (default 50,000, so make bench stays short;
// the figure in the README is 1,000,000, about ten minutes to generate).
func yearOfRollups(b *testing.B, st store.Store) (events int) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("VORONKA_BENCH_CONVS")); err == nil && v > 0 {
		n = v
	}
	// Folded once per run of the test binary: the bolt and the MongoDB
	// benchmarks write the same counters.
	yearMu.Lock()
	defer yearMu.Unlock()
	if y, ok := years[n]; ok {
		writeDocs(b, st, y.docs)
		return y.events
	}
	sim := &simulator{rnd: rand.New(rand.NewPCG(1, 2)), span: 365 * 24 * time.Hour}
	f := &analytics.Folder{Loc: simLoc}
	d := analytics.Deltas{}
	for i := 0; i < n; i++ {
		sim.play(i)
		s := &analytics.State{}
		evs := sim.events
		for j := range evs {
			f.Fold(s, &evs[j], d)
		}
		events += len(evs)
		sim.events, sim.convs = sim.events[:0], sim.convs[:0]
	}
	docs := d.Docs(simBot)
	years[n] = year{docs, events}
	writeDocs(b, st, docs)
	return events
}

// writeDocs writes counter documents a few at a time: one batch of a
// year's thousands of documents outlasts a MongoDB operation's timeout.
func writeDocs(b *testing.B, st store.Store, docs []store.RollupDoc) {
	for i := 0; i < len(docs); i += 20 {
		if err := st.ApplyRollup(context.Background(), store.RollupBatch{Deltas: docs[i:min(i+20, len(docs))]}); err != nil {
			b.Fatal(err)
		}
	}
}

type year struct {
	docs   []store.RollupDoc
	events int
}

var (
	yearMu sync.Mutex
	years  = map[int]year{}
)

func benchYear(b *testing.B, st store.Store) {
	ctx := context.Background()
	if err := st.PutBot(ctx, store.Bot{ID: simBot, Settings: store.BotSettings{TimeZone: "Europe/Moscow"}}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	events := yearOfRollups(b, st)
	b.Logf("rollups of %d events written in %v", events, time.Since(t0))
	q := analytics.Query{From: "2026-01-01", To: "2026-12-31"}
	b.ResetTimer()
	cpu0 := cpuNow()
	defer func() {
		// This process's CPU time, which the other suites sharing the
		// machine stretch less than wall time (for MongoDB the client's
		// only: the test server is another process).
		b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}()
	for i := 0; i < b.N; i++ {
		docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
		if err != nil {
			b.Fatal(err)
		}
		r := analytics.Build(docs, q, receipts)
		if r.Started == 0 {
			b.Fatal("empty report")
		}
		if i == 0 {
			b.Logf("%d documents, %d runs started", len(docs), r.Started)
		}
	}
}

// BenchmarkAnalyticsYear is GET …/analytics for a year of a busy bot on
// the embedded store: the documents read and the report built.
func BenchmarkAnalyticsYear(b *testing.B) { benchYear(b, openBolt(b)) }

// BenchmarkAnalyticsYearMongo is the same on the MongoDB test server.
func BenchmarkAnalyticsYearMongo(b *testing.B) { benchYear(b, openMongo(b)) }
