package mongo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/notify"
	"github.com/voronka/voronka/engine/notify/notifytest"
	"github.com/voronka/voronka/engine/store"
)

// TestNotifyConformance runs the bus conformance test on two replicas:
// two stores on one database, each with its own polled bus.
func TestNotifyConformance(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) (notify.Bus, notify.Bus) {
		a := newStore(t)
		b := openStore(t, a.Database())
		return startBus(t, a), startBus(t, b)
	})
}

func startBus(t *testing.T, st store.Notifications) notify.Bus {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bus, err := notify.NewPolled(ctx, st, notify.PolledOptions{Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = bus.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return bus
}
