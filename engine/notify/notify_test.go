package notify_test

import (
	"testing"

	"github.com/voronka/voronka/engine/notify"
	"github.com/voronka/voronka/engine/notify/notifytest"
)

func TestLocalConformance(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) (notify.Bus, notify.Bus) {
		b := notify.NewLocal()
		return b, b // one process: both "replicas" are the same bus
	})
}
