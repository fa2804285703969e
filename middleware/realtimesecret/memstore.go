package realtimesecret

import (
	"context"
	"sync/atomic"
	"time"
	"unique"

	gocache "github.com/patrickmn/go-cache"
)

// MemoryStore is the in-process Store: a go-cache map with per-entry expiry.
// Expired records are swept by the Put that first finds the last sweep older
// than a minute, so the store starts no goroutine that outlives it.
//
// Records are interned: the map holds a unique.Handle, and equal records
// share one copy. Tokens minted in the same second with the same key, model
// and caller are equal (OpenAI's expires_at is in whole seconds), so a live
// record costs little more than its map slot and hashed key: ~134 bytes of
// heap, where a *Record each cost ~228 (BenchmarkMemoryStoreFootprint).
type MemoryStore struct {
	c         *gocache.Cache
	lastSweep atomic.Int64 // unix nanoseconds
	sweeping  atomic.Bool
}

var _ Store = (*MemoryStore)(nil)

const sweepInterval = time.Minute

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{c: gocache.New(gocache.NoExpiration, 0)}
	s.lastSweep.Store(time.Now().UnixNano())
	return s
}

// Put stores rec until rec.ExpiresAt; an already expired record is dropped.
func (s *MemoryStore) Put(_ context.Context, h TokenHash, rec Record) error {
	ttl := time.Until(rec.ExpiresAt)
	if ttl <= 0 {
		return nil
	}
	// A Handle is one pointer, so it goes into go-cache's interface{}
	// without an allocation.
	s.c.Set(string(h[:]), unique.Make(rec), ttl)
	s.maybeSweep()
	return nil
}

// Get returns the record under h unless it has expired.
func (s *MemoryStore) Get(_ context.Context, h TokenHash) (Record, bool, error) {
	v, ok := s.c.Get(string(h[:]))
	if !ok {
		return Record{}, false, nil
	}
	return v.(unique.Handle[Record]).Value(), true, nil
}

// Len returns the number of records held, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int { return s.c.ItemCount() }

func (s *MemoryStore) maybeSweep() {
	now := time.Now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(sweepInterval) || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	if s.sweeping.CompareAndSwap(false, true) {
		go func() {
			defer s.sweeping.Store(false)
			s.c.DeleteExpired()
		}()
	}
}
