package fakekit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// heapAfter is the live heap after fn, collected, minus before it.
func heapAfter(fn func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// Lean records count every chat's messages, so a load run can wait on
// them, and keep none: its memory stays flat however long it runs.
func TestLeanRecordsCountAndKeepNothing(t *testing.T) {
	const n = 20000
	text := strings.Repeat("a reply with a keyboard ", 20)
	// Kept, the records hold every text; lean, at most a few bytes each.
	for _, tc := range []struct {
		name               string
		records            func() *Records[string]
		kept               int
		minBytes, maxBytes int64
	}{
		{"kept", NewRecords[string], n, n * int64(len(text)), 1 << 40},
		{"lean", NewLeanRecords[string], 0, -1 << 40, n * 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.records()
			grew := heapAfter(func() {
				for i := range n {
					r.Add([]string{"41", "42"}[i%2], text+string(rune('a'+i%26)))
				}
			})
			if got, err := r.WaitCount(ctx(t), "42", n/2); err != nil || got != n/2 {
				t.Fatalf("WaitCount = %d, %v; want %d", got, err, n/2)
			}
			if r.Len() != n {
				t.Fatalf("Len = %d, want %d", r.Len(), n)
			}
			if all, chat := len(r.All()), len(r.Chat("42")); all != tc.kept || chat != tc.kept/2 {
				t.Fatalf("All holds %d records and Chat %d, want %d and %d", all, chat, tc.kept, tc.kept/2)
			}
			if grew < tc.minBytes || grew > tc.maxBytes {
				t.Fatalf("the heap grew %d bytes for %d records, want %d to %d", grew, n, tc.minBytes, tc.maxBytes)
			}
			runtime.KeepAlive(r)
		})
	}
}

// With ForgetDone a finished delivery leaves the history once every older
// one has finished too; one still pending keeps itself and what follows.
func TestDelivererForgetDoneKeepsOnlyWhatIsPending(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) == "hold" {
			<-release
		}
	}))
	defer srv.Close()
	defer releaseOnce.Do(func() { close(release) }) // before srv.Close waits for the held request
	d := NewDeliverer(DelivererOptions{ForgetDone: true})
	defer d.Close()
	d.SetURL(srv.URL)

	one := d.Enqueue("a", []byte("one"), nil)
	held := d.Enqueue("b", []byte("hold"), nil)
	three := d.Enqueue("a", []byte("three"), nil)
	if st, err := d.WaitDone(ctx(t), three); err != nil || st.State != DeliveryDelivered {
		t.Fatalf("delivery behind a pending one = %+v, %v; want it kept, delivered", st, err)
	}
	if _, ok := d.Get(one); ok {
		t.Fatal("the first delivery is still kept after it and everything before it finished")
	}
	if _, err := d.WaitDone(ctx(t), one); !errors.Is(err, ErrForgotten) {
		t.Fatalf("waiting on a forgotten delivery: %v, want ErrForgotten", err)
	}
	if all := d.All(); len(all) != 2 || all[0].ID != held || all[1].ID != three {
		t.Fatalf("kept %+v, want the held delivery and the one after it", all)
	}

	releaseOnce.Do(func() { close(release) })
	if _, err := d.WaitDone(ctx(t), held); !errors.Is(err, ErrForgotten) {
		t.Fatalf("the held delivery once done: %v, want ErrForgotten", err)
	}
	if all, p := d.All(), d.Pending(); len(all) != 0 || p != 0 {
		t.Fatalf("kept %d deliveries, %d pending; want none", len(all), p)
	}
}
