package bolt

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errClosed is returned by writes queued after Close.
var errClosed = fmt.Errorf("bolt store: %w", bolt.ErrDatabaseNotOpen)

// writer is a group commit: one goroutine runs every write transaction, and
// each transaction takes all the writes that queued while the previous one
// ran. bbolt's own DB.Batch closes a batch after MaxBatchDelay and queues it
// behind the running transaction, so under load many small transactions wait
// in line, each paying its own fsync and rewriting the same pages; here the
// batch grows with the queue, which is what lets throughput grow with load.
type writer struct {
	db      *bolt.DB
	delay   time.Duration // wait for company when a write arrives at an idle writer
	maxSize int
	// freelistUpTo is the largest freelist (bytes) a commit writes; see run.
	freelistUpTo int

	mu     sync.Mutex
	queue  []*writeCall
	closed bool
	kick   chan struct{}
	done   chan struct{}
}

type writeCall struct {
	fn      func(tx *bolt.Tx) error
	outcome error // a business result of fn, handed back while the batch commits
	result  chan error
}

var callPool = sync.Pool{New: func() any { return &writeCall{result: make(chan error, 1)} }}

func newWriter(db *bolt.DB, delay time.Duration, maxSize, freelistUpTo int) *writer {
	w := &writer{db: db, delay: delay, maxSize: maxSize, freelistUpTo: freelistUpTo,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

// do runs fn in the next group transaction and returns its error: a
// business outcome (see isOutcome) while the others commit, or the
// transaction's error.
func (w *writer) do(fn func(tx *bolt.Tx) error) error {
	c := callPool.Get().(*writeCall)
	c.fn = fn
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		c.fn = nil
		callPool.Put(c)
		return errClosed
	}
	w.queue = append(w.queue, c)
	select { // under mu: close cannot close kick in between
	case w.kick <- struct{}{}:
	default:
	}
	w.mu.Unlock()
	err := <-c.result
	c.fn, c.outcome = nil, nil
	callPool.Put(c)
	return err
}

// close runs what is queued and stops the writer.
func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	close(w.kick)
	w.mu.Unlock()
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	var batch []*writeCall
	for {
		_, open := <-w.kick
		if w.delay > 0 && open {
			// The writer was idle: a write seldom comes alone (a message
			// writes its conversation, a job and a transcript line at once),
			// so give the others a moment to share the fsync. Under load the
			// loop below never gets here.
			time.Sleep(w.delay)
		}
		for {
			w.mu.Lock()
			n := min(len(w.queue), w.maxSize)
			batch = append(batch[:0], w.queue[:n]...)
			rest := copy(w.queue, w.queue[n:])
			clear(w.queue[rest:])
			w.queue = w.queue[:rest]
			w.mu.Unlock()
			if n == 0 {
				break
			}
			w.run(batch)
			clear(batch)
		}
		if !open {
			return
		}
	}
}

// run commits calls in one transaction. A call failing with a storage
// error (not an outcome) rolls the transaction back: it gets its error and
// the others run again without it, as with DB.Batch.
func (w *writer) run(calls []*writeCall) {
	for len(calls) > 0 {
		failed := -1
		// A commit that writes the freelist leaves a file that opens at
		// once, even after a crash; one that does not leaves a file whose
		// open walks every page to find the free ones (a minute at a
		// gigabyte on a cold cache). Writing it costs its size on every
		// commit: a page or so most of the time, megabytes just after a
		// purge freed many pages. So commits write it while it is small
		// and skip it while it is large, until writes have reused the
		// freed pages. The writer runs every write transaction, so
		// nothing else reads the flag meanwhile.
		w.db.NoFreelistSync = w.freelistUpTo < 0 || w.db.Stats().FreelistInuse > w.freelistUpTo
		err := w.db.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				c.outcome = nil
				if err := safely(c.fn, tx); err != nil {
					if isOutcome(err) {
						c.outcome = err
						continue
					}
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				if err != nil {
					c.result <- err
				} else {
					c.result <- c.outcome
				}
			}
			return
		}
		calls[failed].result <- err
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
}

// safely turns a panic in fn into an error, so one bad write cannot take
// the writer (and every other caller) down.
func safely(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write: %v", p)
		}
	}()
	err = fn(tx)
	if err == nil {
		return nil
	}
	if errors.Is(err, bolt.ErrTxClosed) {
		return fmt.Errorf("write closed its transaction: %w", err)
	}
	return err
}
