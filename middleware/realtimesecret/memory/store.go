package memory

import (
	"context"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"time"
	"unique"

	gocache "github.com/patrickmn/go-cache"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Store is the in-process Store: go-cache maps with per-entry expiry.
// Expired records are swept by the Put that first finds the last sweep older
// than a minute, so the store starts no goroutine that outlives it.
//
// The records are spread over storeShards go-cache maps by the first byte
// of their hash. A go-cache sweep holds its map's lock while it walks the
// whole map: one map of 300,000 records, half of them expired, was locked
// for 44 ms (a million: 159 ms), and every mint and lookup on the node
// waited that long. A sweep now locks one shard at a time, a 256th of that.
//
// A record is held as a small entry: its per-caller and per-token fields
// (VirtualKeyID, which may be one per user, and ExpiresAt) inline, the
// fields a node has a handful of (key, provider, model, endpoint) interned.
// Interning whole records cost ~134 bytes a live record when few differ but
// ~462 when every record differs, as with an Authorizer that gives each user
// a principal, since each then added its own entry to the interning map.
// Entries cost ~133 and ~180 bytes (BenchmarkStoreFootprint and
// BenchmarkStoreFootprintDistinct, a million records): the second
// case pays for the 32-byte entry and the caller ID, the first shares
// entries (see recent).
type Store struct {
	shards    [storeShards]*gocache.Cache // indexed by a hash's first byte
	lastSweep atomic.Int64                // unix nanoseconds
	sweeping  atomic.Bool
	// recent holds the entries last stored, one per slot chosen by a hash of
	// the entry, so the next equal record shares the entry instead of
	// allocating its own: tokens minted in the same second by the same
	// caller for the same model are equal (OpenAI's expires_at is in whole
	// seconds). It is lossy: a slot keeps only its last entry, and a miss
	// costs an allocation, never a wrong record.
	recent [recentSlots]atomic.Pointer[entry]
	seed   maphash.Seed
	// used holds the marks of used single-use tokens (MarkUsed).
	used *gocache.Cache
}

var (
	_ contract.Store     = (*Store)(nil)
	_ contract.UseMarker = (*Store)(nil)
)

const (
	sweepInterval = time.Minute
	// storeShards is one shard per value of a hash's first byte: hashes
	// are uniform, and indexing needs no bounds check.
	storeShards = 256
	// recent has recentSlots slots, comfortably more than the (caller,
	// model) pairs that mint in the same second on a busy node.
	recentBits  = 8
	recentSlots = 1 << recentBits
)

// NewStore returns an empty Store.
func NewStore() *Store {
	s := &Store{seed: maphash.MakeSeed(), used: gocache.New(gocache.NoExpiration, 0)}
	for i := range s.shards {
		s.shards[i] = gocache.New(gocache.NoExpiration, 0)
	}
	s.lastSweep.Store(time.Now().UnixNano())
	return s
}

// shard returns the map that holds the record under h.
func (s *Store) shard(h *contract.TokenHash) *gocache.Cache { return s.shards[h[0]] }

// sharedFields is the part of a Record that few records differ in: a
// node has a handful of keys, providers, models and endpoints, and every
// expiry from the upstream is in the one time zone.
type sharedFields struct {
	KeyID    string
	Provider string
	Model    string
	Endpoint contract.Endpoint
	loc      *time.Location // of ExpiresAt
	// The principal's kind and limits: one set per policy.
	kind               string
	singleUse          bool
	maxSessions        int
	maxSession         time.Duration
	governanceFailOpen bool
	budget             contract.Budget
}

// entry is what the map holds for a Record: 32 bytes, less than a third of
// a Record, since ExpiresAt is kept as nanoseconds and its zone is shared.
// Entries are never changed once stored, so they may be shared and read
// without locks.
type entry struct {
	shared       unique.Handle[sharedFields]
	virtualKeyID string
	expiresAt    int64 // ExpiresAt.UnixNano()
}

func sharedOf(rec *contract.Record) sharedFields {
	return sharedFields{
		KeyID:    rec.KeyID,
		Provider: rec.Provider,
		Model:    rec.Model,
		Endpoint: rec.Endpoint,
		loc:      rec.ExpiresAt.Location(),

		kind:               rec.PrincipalKind,
		singleUse:          rec.SingleUse,
		maxSessions:        rec.MaxSessions,
		maxSession:         rec.MaxSession,
		governanceFailOpen: rec.GovernanceFailOpen,
		budget:             rec.Budget,
	}
}

// Put stores rec until rec.ExpiresAt; an already expired record is dropped.
func (s *Store) Put(_ context.Context, h contract.TokenHash, rec contract.Record) error {
	ttl := time.Until(rec.ExpiresAt)
	if ttl <= 0 {
		return nil
	}
	// Both kinds of value are one pointer, so they go into go-cache's
	// interface{} without an allocation.
	if e := s.entryFor(&rec); e != nil {
		s.shard(&h).Set(string(h[:]), e, ttl)
	} else {
		whole := rec // only this branch moves a Record to the heap
		s.shard(&h).Set(string(h[:]), &whole, ttl)
	}
	s.maybeSweep()
	return nil
}

// entryFor returns an entry equal to rec: the one last stored in rec's slot
// of recent if it is equal, else a new one. It returns nil for a record an
// entry cannot give back exactly: one whose ExpiresAt has a monotonic
// clock reading or lies outside the years 1678 to 2262. Expiries from the
// upstream never do (they are time.Unix of whole seconds), so those few
// records are simply stored whole, as are the records of brokered sessions
// (the only ones with a CreatedAt), which are few beside tokens.
func (s *Store) entryFor(rec *contract.Record) *entry {
	if !rec.CreatedAt.IsZero() { // a brokered session's: few, kept whole
		return nil
	}
	nanos := rec.ExpiresAt.UnixNano()
	sh := sharedOf(rec)
	if time.Unix(0, nanos).In(sh.loc) != rec.ExpiresAt { // the exact representation, not the instant
		return nil
	}
	slot := &s.recent[s.slotOf(rec.VirtualKeyID, rec.Model, nanos)]
	if e := slot.Load(); e != nil && e.expiresAt == nanos && e.virtualKeyID == rec.VirtualKeyID && e.shared.Value() == sh {
		return e
	}
	e := &entry{
		shared: unique.Make(sh),
		// A copy, so the store pins only the ID and not a larger string the
		// caller may have cut it from (a header, a decoded token).
		virtualKeyID: strings.Clone(rec.VirtualKeyID),
		expiresAt:    nanos,
	}
	slot.Store(e)
	return e
}

// slotOf picks the slot of recent for an entry. Model is in the hash so
// that a caller minting two models in the same second keeps both entries.
// The multiply mixes the bits and the top ones are taken, the best mixed.
func (s *Store) slotOf(virtualKeyID, model string, expiresAt int64) uint {
	x := maphash.String(s.seed, virtualKeyID) ^ maphash.String(s.seed, model)<<1 ^ uint64(expiresAt) //nolint:gosec // hashed bits: the sign is just a bit
	return uint((x * 0x9E3779B97F4A7C15) >> (64 - recentBits))
}

// Get returns the record under h unless it has expired.
func (s *Store) Get(_ context.Context, h contract.TokenHash) (contract.Record, bool, error) {
	v, _ := s.shard(&h).Get(string(h[:]))
	switch v := v.(type) {
	case *entry:
		sh := v.shared.Value()
		return contract.Record{
			KeyID:        sh.KeyID,
			VirtualKeyID: v.virtualKeyID,
			Provider:     sh.Provider,
			Model:        sh.Model,
			Endpoint:     sh.Endpoint,
			ExpiresAt:    time.Unix(0, v.expiresAt).In(sh.loc),

			PrincipalKind:      sh.kind,
			SingleUse:          sh.singleUse,
			MaxSessions:        sh.maxSessions,
			MaxSession:         sh.maxSession,
			GovernanceFailOpen: sh.governanceFailOpen,
			Budget:             sh.budget,
		}, true, nil
	case *contract.Record:
		return *v, true, nil
	}
	return contract.Record{}, false, nil
}

// Len returns the number of records held, expired ones not yet swept
// included.
func (s *Store) Len() int {
	n := 0
	for _, c := range s.shards {
		n += c.ItemCount()
	}
	return n
}

func (s *Store) maybeSweep() {
	now := time.Now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(sweepInterval) || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	if s.sweeping.CompareAndSwap(false, true) {
		go func() {
			defer s.sweeping.Store(false)
			s.sweep()
		}()
	}
}

// sweep drops the expired records, holding one shard's lock at a time,
// then the expired marks.
func (s *Store) sweep() {
	for _, c := range s.shards {
		c.DeleteExpired()
	}
	s.used.DeleteExpired()
}

// MarkUsed marks h used until until, and reports whether this call marked
// it first (an expired mark counts as none).
func (s *Store) MarkUsed(_ context.Context, h contract.TokenHash, until time.Time) (bool, error) {
	ttl := time.Until(until)
	if ttl <= 0 {
		ttl = time.Second // expired already: nothing will accept it, but one use is one use
	}
	first := s.used.Add(string(h[:]), nil, ttl) == nil // Add fails while an unexpired mark exists
	if first {
		s.maybeSweep()
	}
	return first, nil
}
