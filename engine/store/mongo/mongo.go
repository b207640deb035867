// Package mongo is the MongoDB Store: the system of record when Voronka runs
// as several replicas. Every hot-path read is an _id lookup, every write to a
// shared document is conditional, and nothing needs transactions, change
// streams or TTL indexes.
//
// Its tests run on tools/mongotest, FerretDB v1 on SQLite with a proxy that
// applies each write command alone per collection, so conditional writes
// there are atomic as on MongoDB and the tests run the code MongoDB runs.
// Plain FerretDB v1 applies a filtered write as a read and then a write, so
// two conditional writes of one version could both win: Open refuses it.
// The test server is slow in ways that shaped the tests, not this package:
// only filters on _id reach its storage, so other filters cost time in
// proportion to the collection, and many concurrent requests slow it down
// sharply, so tests use a small pool.
package mongo

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// Options tunes the MongoDB store; the zero value is a good default.
type Options struct {
	// MaxPoolSize bounds connections per server (default 100).
	MaxPoolSize uint64
	// OpTimeout applies to each call whose context has no deadline (default 10s).
	OpTimeout time.Duration
	// StartupTimeout is how long Open keeps retrying an unreachable server (default 30s).
	StartupTimeout time.Duration
	// Logger receives start-up retries; nil means slog.Default().
	Logger *slog.Logger
	// Monitor, when set, sees every command the store sends (tests count
	// round trips with it).
	Monitor *event.CommandMonitor
	// PurgeBatch bounds the documents one delete of Purge removes (default
	// 5000): one DeleteMany of a year of events is a long operation on
	// MongoDB, and more than the test server's SQLite binds at once.
	PurgeBatch int
}

// Store is the MongoDB implementation of store.Store; safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	opts   Options
	// idLookups says the server answers only _id equality from its index
	// (the FerretDB test server: an $in on _id reads the collection), so
	// StoredEvents looks ids up one by one.
	idLookups bool
	// claimMu keeps one claim query per process in flight: concurrent
	// claimers in one replica would only scan the same queue head and
	// collide; across replicas the conditional writes decide.
	claimMu sync.Mutex

	convs, msgs, events, flows, versions, jobs, users, bots, leases *mongo.Collection

	// flusherID names this handle in the rollup flush lease (rollups.go).
	flusherID string
}

var _ store.Store = (*Store)(nil)

// Open connects to uri, waits (with backoff, up to StartupTimeout) until the
// server answers, detects its capabilities and creates the indexes.
func Open(ctx context.Context, uri, dbName string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxPoolSize == 0 {
		o.MaxPoolSize = 100
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 10 * time.Second
	}
	if o.StartupTimeout <= 0 {
		o.StartupTimeout = 30 * time.Second
	}
	if o.PurgeBatch <= 0 {
		o.PurgeBatch = 5000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if dbName == "" {
		return nil, errors.New("open mongodb store: empty database name")
	}
	co := options.Client().ApplyURI(uri).
		SetAppName("voronka").
		SetMaxPoolSize(o.MaxPoolSize).
		SetMaxConnIdleTime(5 * time.Minute).
		SetConnectTimeout(5 * time.Second).
		SetServerSelectionTimeout(5 * time.Second).
		SetBSONOptions(&options.BSONOptions{DefaultDocumentM: true, BinaryAsSlice: true})
	if o.Monitor != nil {
		co.SetMonitor(o.Monitor)
	}
	if err := co.Validate(); err != nil {
		return nil, fmt.Errorf("open mongodb store: invalid uri: %w", err)
	}
	client, err := mongo.Connect(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("open mongodb store: %w", err)
	}
	s := &Store{client: client, db: client.Database(dbName), opts: o, flusherID: randomID()}
	if err := s.waitReachable(ctx, co.Hosts); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	s.convs = s.db.Collection("conversations")
	s.msgs = s.db.Collection("messages")
	s.events = s.db.Collection("events")
	s.flows = s.db.Collection("flows")
	s.versions = s.db.Collection("flow_versions")
	s.jobs = s.db.Collection("jobs")
	s.users = s.db.Collection("users")
	s.bots = s.db.Collection("bots")
	s.leases = s.db.Collection("leases")

	if err := s.checkServer(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("open mongodb store: %w", err)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("open mongodb store: %w", err)
	}
	if err := s.moveRollupMonths(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("open mongodb store: %w", err)
	}
	return s, nil
}

// waitReachable pings with exponential backoff until the server answers.
func (s *Store) waitReachable(ctx context.Context, hosts []string) error {
	deadline := time.Now().Add(s.opts.StartupTimeout)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.client.Ping(pctx, nil)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("open mongodb store: server %v not reachable after %d attempts in %s: %w",
				hosts, attempt, s.opts.StartupTimeout, err)
		}
		s.opts.Logger.Warn("mongodb not reachable yet, retrying", "hosts", hosts, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// checkServer refuses a server on which conditional writes are not
// atomic: FerretDB v1 (buildInfo has ferretdbVersion, "unknown" when
// embedded), unless it is tools/mongotest, which serializes writes and says
// so when asked.
func (s *Store) checkServer(ctx context.Context) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var info bson.M
	if err := s.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("buildInfo: %w", err)
	}
	v, ferret := info["ferretdbVersion"]
	if !ferret || ferretDBMajor(fmt.Sprint(v)) >= 2 {
		return nil
	}
	var test struct {
		SerializedWrites bool `bson:"serializedWrites"`
	}
	err := s.db.RunCommand(ctx, bson.D{{Key: testServerCommand, Value: 1}}).Decode(&test)
	if err == nil && test.SerializedWrites {
		s.idLookups = true
		return nil
	}
	return fmt.Errorf("server is FerretDB v1 (version %v), which applies a filtered write as a read and then a write, "+
		"so two conditional writes could both win: use MongoDB (see README, \"MongoDB\")", v)
}

// ferretDBMajor returns the major version of a FerretDB version string
// ("v1.24.0"), 0 when it has none (an embedded FerretDB v1 says "unknown").
func ferretDBMajor(v string) int {
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0
	}
	return n
}

// testServerCommand is the command tools/mongotest answers with
// {serializedWrites: true}; other servers do not know it.
const testServerCommand = "voronkaTestServer"

func (s *Store) ensureIndexes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	idx := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		var name []string
		for _, k := range keys {
			dir := 1
			if k[0] == '-' {
				dir, k = -1, k[1:]
			}
			d = append(d, bson.E{Key: k, Value: dir})
			name = append(name, fmt.Sprintf("%s_%d", k, dir))
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetName(strings.Join(name, "_"))}
	}
	unique := idx("login")
	unique.Options.SetUnique(true)
	all := []struct {
		c      *mongo.Collection
		models []mongo.IndexModel
	}{
		{s.convs, []mongo.IndexModel{
			idx("bot", "status", "-updated_at", "-_id"),                 // inbox
			idx("bot", "-updated_at", "-_id"),                           // inbox, all statuses
			idx("bot", "segment", "_id"),                                // audience by segment
			idx("bot", "tags", "_id"),                                   // audience by tag
			idx("bot", "contact.phone"),                                 // lookup by contact
			idx("outbox.owner", "_id"),                                  // outboxes a dead process left
			idx("inbox.state", "inbox.queue", "-updated_at", "-_id"),    // the operator inbox (inbox.go)
			idx("inbox.assignee", "inbox.state", "-updated_at", "-_id"), // an operator's chats
			idx("bot", "last_inbound_at", "_id"),                        // contacts by last seen, active now
			idx("bot", "created_at", "_id"),                             // contacts by first seen
			idx("bot", "score", "_id"),                                  // contacts by score
		}},
		{s.msgs, []mongo.IndexModel{idx("conversation_id", "at", "_id"), idx("at")}},
		{s.events, []mongo.IndexModel{idx("bot", "at", "_id"), idx("bot", "flow", "type", "at"), idx("at"), idx("rp", "at")}},
		{s.db.Collection(collRollups), []mongo.IndexModel{idx("bot", "day")}},
		{s.db.Collection(collRollupMonths), []mongo.IndexModel{idx("bot", "day")}},
		{s.versions, []mongo.IndexModel{idx("bot", "flow_id", "-version")}},
		{s.jobs, []mongo.IndexModel{idx("status", "due_at", "_id"), idx("status", "updated_at")}},
		{s.users, []mongo.IndexModel{unique}},
	}
	all = append(all, s.broadcastIndexes(idx)...)
	for _, a := range all {
		// Create only missing indexes: cheaper at every start, and FerretDB
		// drops the connection when asked to create an existing one.
		have := map[string]bool{}
		specs, err := a.c.Indexes().ListSpecifications(ctx)
		if err != nil {
			return fmt.Errorf("list indexes on %s: %w", a.c.Name(), err)
		}
		for _, sp := range specs {
			have[sp.Name] = true
		}
		var missing []mongo.IndexModel
		for _, m := range a.models {
			if !have[*m.Options.Name] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := a.c.Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes on %s: %w", a.c.Name(), err)
		}
	}
	return nil
}

// Ping implements store.Maintenance (readiness).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping mongodb: %w", err)
	}
	return nil
}

// Close implements store.Maintenance.
func (s *Store) Close(ctx context.Context) error {
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("close mongodb store: %w", err)
	}
	return nil
}

// Database names the database this store uses (to open another replica on it).
func (s *Store) Database() string { return s.db.Name() }

// ctx applies the default operation timeout when the caller set none.
func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.OpTimeout)
}

// notFound maps the driver's no-documents error to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return store.ErrNotFound
	}
	return err
}

// duplicate maps a duplicate-key error to store.ErrDuplicate.
func duplicate(err error) error {
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%w: %v", store.ErrDuplicate, err)
	}
	return err
}

// exists reports whether a document with id is in c.
func exists(ctx context.Context, c *mongo.Collection, id string) (bool, error) {
	err := c.FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, err
}

// replaceIf replaces the document id in c by doc if its revField still
// holds rev, and reports whether it did: one filtered replace, atomic on
// the server.
func replaceIf(ctx context.Context, c *mongo.Collection, id, revField string, rev int64, doc any) (bool, error) {
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: revField, Value: rev}}, doc)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// randomID names a store handle (the rollup flush lease's owner).
func randomID() string {
	var b [12]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
