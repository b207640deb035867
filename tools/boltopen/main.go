//go:build linux

// Command boltopen measures how long the embedded store takes to open a
// large file from a cold page cache: once as a crash leaves it (no freelist
// written, so bbolt walks every page to find the free ones; every file the
// store wrote before Close wrote the freelist looks like this), and once
// after a clean Close (the freelist is read from its page).
//
//	go run ./tools/boltopen -path /tmp/big.db -size 1024
//
// It fills the file with transcript lines and events first when it is
// smaller than -size megabytes. Say the machine's load (uptime) with the
// figures: the cold reads depend on the disk and on what else runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
	vbolt "github.com/voronka/voronka/engine/store/bolt"
)

func main() {
	path := flag.String("path", "boltopen.db", "store file (created and filled if smaller than -size)")
	sizeMB := flag.Int64("size", 1024, "megabytes to fill the file to")
	rounds := flag.Int("rounds", 3, "opens of each kind")
	cold := flag.Bool("cold", true, "drop the file from the page cache before each open (false: as a restart after kill -9 finds it)")
	flag.Parse()
	ctx := context.Background()
	if err := fill(ctx, *path, *sizeMB<<20); err != nil {
		log.Fatal(err)
	}
	for r := range *rounds {
		if err := forgetFreelist(*path); err != nil {
			log.Fatal(err)
		}
		crash, closeTook, err := timeOpen(ctx, *path, *cold)
		if err != nil {
			log.Fatal(err)
		}
		clean, _, err := timeOpen(ctx, *path, *cold)
		if err != nil {
			log.Fatal(err)
		}
		cache := "cold"
		if !*cold {
			cache = "warm"
		}
		fmt.Printf("round %d: %s open without a freelist (after a crash) %v; Close writing the freelist %v; %s open after a clean Close %v\n",
			r+1, cache, crash.Round(time.Millisecond), closeTook.Round(time.Millisecond), cache, clean.Round(time.Millisecond))
	}
}

// fill appends transcript lines and events (a few hundred bytes each, over
// many conversations, as a busy bot writes them) until the file has size bytes.
func fill(ctx context.Context, path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() >= size {
		return nil
	}
	s, err := vbolt.Open(path, &vbolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	text := strings.Repeat("Здравствуйте! Ваш заказ принят. ", 6)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 0; ; n++ {
		var msgs []store.Message
		var evs []store.Event
		for i := range 1000 {
			conv := fmt.Sprintf("shop:telegram:%d", (n*1000+i)%50000)
			id := fmt.Sprintf("%d-%d", n, i)
			at = at.Add(time.Millisecond)
			msgs = append(msgs, store.Message{ID: id, ConversationID: conv, Bot: "shop", Direction: store.DirectionBot, Text: text, At: at})
			evs = append(evs, store.Event{ID: id, Bot: "shop", Flow: "lead", FlowVersion: 1, Node: "hello", Type: "node_entered", Conversation: conv, Channel: "telegram", At: at})
		}
		if err := s.AppendMessages(ctx, msgs...); err != nil {
			return err
		}
		if err := s.AppendEvents(ctx, evs...); err != nil {
			return err
		}
		if n%50 == 0 {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			if fi.Size() >= size {
				break
			}
		}
	}
	return s.Close(ctx)
}

// forgetFreelist commits once without writing the freelist, as every
// commit before a crash does.
func forgetFreelist(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	if err := db.Update(func(*bolt.Tx) error { return nil }); err != nil {
		return err
	}
	return db.Close()
}

// timeOpen drops the file from the page cache if cold, then times the
// store's Open (which includes its first write, where bbolt loads the
// freelist) and its Close.
func timeOpen(ctx context.Context, path string, cold bool) (open, closeTook time.Duration, err error) {
	if cold {
		if err := evict(path); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	s, err := vbolt.Open(path, nil)
	if err != nil {
		return 0, 0, err
	}
	open = time.Since(start)
	start = time.Now()
	err = s.Close(ctx)
	return open, time.Since(start), err
}

// evict writes the file's dirty pages and asks the kernel to drop it from
// the page cache (POSIX_FADV_DONTNEED), so the next read comes from disk.
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	const dontNeed = 4
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, dontNeed, 0, 0); e != 0 {
		return fmt.Errorf("fadvise %s: %w", path, e)
	}
	return nil
}
