package bolt

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// A store filling up does not stall its writes behind its reads. bbolt maps
// the file again when it outgrows its mapping, and that waits for every read
// transaction to end: under load each reply waited for it, a dozen times as
// the file grew. Here a read stays open while the writes grow the file well
// past its first mappings; they must not wait for it.
func TestGrowingFileDoesNotWaitForReaders(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	tx, err := s.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			tx.Rollback()
		}
	}()
	size := func() int64 {
		fi, err := os.Stat(s.db.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	start := size()
	done := make(chan error, 1)
	go func() {
		text := strings.Repeat("x", 30000)
		for i := range 24 {
			var ms []store.Message
			for j := range 100 {
				ms = append(ms, store.Message{ID: fmt.Sprintf("c1:%02d%03d", i, j), ConversationID: "c1", Bot: "b",
					Direction: store.DirectionIn, Text: text, At: time.Unix(int64(i*100+j), 0)})
			}
			if err := s.AppendMessages(ctx, ms...); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		tx.Rollback()
		closed = true
		<-done
		t.Fatal("writes waited for a read transaction: the growing file was mapped again")
	}
	if end := size(); end < 4*start {
		t.Fatalf("the file grew from %d to %d bytes; the test needs it to outgrow its first mappings", start, end)
	}
}
