package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var (
	//go:embed session_track.lua
	sessionTrackSource string
	//go:embed session_end.lua
	sessionEndSource string
	//go:embed session_list.lua
	sessionListSource string
	//go:embed session_claim.lua
	sessionClaimSource string
	//go:embed session_watch.lua
	sessionWatchSource string
	//go:embed session_adopt.lua
	sessionAdoptSource string
)

// The session scripts; redis.Script runs each with EVALSHA and falls back
// to EVAL when Redis answers NOSCRIPT.
var (
	sessionTrack = redis.NewScript(sessionTrackSource)
	sessionEnd   = redis.NewScript(sessionEndSource)
	sessionList  = redis.NewScript(sessionListSource)
	sessionClaim = redis.NewScript(sessionClaimSource)
	sessionWatch = redis.NewScript(sessionWatchSource)
	sessionAdopt = redis.NewScript(sessionAdoptSource)
)

var _ contract.SessionRegistry = (*Store)(nil)

// The kinds of governance key, each followed by the principal (see
// govKey), and the one global key.
const (
	govLeases        = "lease:"  // sorted set: lease -> lapses at
	govSessions      = "sess:"   // sorted set: session id -> expires at
	govSessionLeases = "slease:" // hash: session id -> its lease ("" for none)
	govDeadlines     = "due"     // sorted set: deadlineMember -> cap deadline
	govEnded         = "ended:"  // string per session: how it ended
	govWatches       = "watch"   // sorted set: deadlineMember -> watched until
)

// Track implements contract.SessionTracker: one script records the
// session until s.Expires, with its lease, and its cap deadline in the
// deadlines every node claims from. Sessions of the principal that
// expired on their own are forgotten, with their leases, on the way.
func (s *Store) Track(ctx context.Context, ts contract.TrackedSession) error {
	now := time.Now()
	deadline, watched := "", ""
	if !ts.Deadline.IsZero() {
		deadline = strconv.FormatInt(ceilMillis(ts.Deadline.Sub(now)), 10)
	}
	if !ts.Watched.IsZero() {
		watched = strconv.FormatInt(ceilMillis(ts.Watched.Sub(now)), 10)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := sessionTrack.Run(ctx, s.client, s.sessionKeys(ts.Principal),
		ts.ID, ts.Lease, ceilMillis(ts.Expires.Sub(now)), deadline, deadlineMember(ts.Principal, ""), watched).Err()
	if err != nil {
		return fmt.Errorf("redisstore: track session: %w", err)
	}
	return nil
}

// End implements contract.SessionTracker: one script forgets the
// session, its deadline and its lease, reports whether it was tracked, so
// that exactly one caller across all nodes sees true, and records how it
// ended until it would have expired.
func (s *Store) End(ctx context.Context, principal, id, how string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keys := append(s.sessionKeys(principal), s.endedKey(principal, id))
	n, err := sessionEnd.Run(ctx, s.client, keys, id, deadlineMember(principal, ""), how).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: end session: %w", err)
	}
	return n == 1, nil
}

// Ended implements contract.SessionTracker.
func (s *Store) Ended(ctx context.Context, principal, id string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	how, err := s.client.Get(ctx, s.endedKey(principal, id)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("redisstore: how a session ended: %w", err)
	}
	return how, nil
}

// Sessions implements contract.SessionTracker: the ids of principal's
// sessions that have not expired, in order of expiry.
func (s *Store) Sessions(ctx context.Context, principal string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids, err := sessionList.Run(ctx, s.client, []string{s.govKey(govSessions, principal)}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	return ids, nil
}

// ClaimDue implements contract.SessionTracker: one script takes up to
// limit deadlines at or before now from the deadlines of every principal
// and returns their sessions, so that each deadline is claimed by exactly
// one node, whichever asks first. A returned session is still tracked,
// with its lease, and has a zero Deadline; End it once it is hung up.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int) ([]contract.TrackedSession, error) {
	if limit <= 0 {
		return nil, nil
	}
	offset := floorMillis(time.Until(now))
	ctx, cancel := s.bound(ctx)
	defer cancel()
	reply, err := sessionClaim.Run(ctx, s.client, []string{s.govPrefix + govDeadlines},
		offset, limit, s.govPrefix).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: claim due sessions: %w", err)
	}
	due, err := claimedSessions(reply, now)
	if err != nil {
		return due, fmt.Errorf("redisstore: claim due sessions: %w", err)
	}
	return due, nil
}

// claimedSessions reads the reply of session_claim.lua and
// session_adopt.lua: principal, id, lease and milliseconds from now to the
// expiry of each session.
func claimedSessions(reply []any, now time.Time) ([]contract.TrackedSession, error) {
	if len(reply)%4 != 0 {
		return nil, fmt.Errorf("unexpected reply of %d values", len(reply))
	}
	var out []contract.TrackedSession
	for i := 0; i < len(reply); i += 4 {
		principal, ok1 := reply[i].(string)
		id, ok2 := reply[i+1].(string)
		lease, ok3 := reply[i+2].(string)
		expires, ok4 := reply[i+3].(int64)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return out, ErrCorruptValue
		}
		out = append(out, contract.TrackedSession{
			ID: id, Principal: principal, Lease: lease,
			Expires: now.Add(time.Duration(expires) * time.Millisecond),
		})
	}
	return out, nil
}

// Watch implements contract.SessionTracker: one script extends the watch
// of each session that still has one, on the Redis clock.
func (s *Store) Watch(ctx context.Context, sessions []contract.SessionRef, until time.Time) error {
	if len(sessions) == 0 {
		return nil
	}
	args := make([]any, 0, 1+len(sessions))
	args = append(args, ceilMillis(time.Until(until)))
	for _, ref := range sessions {
		args = append(args, deadlineMember(ref.Principal, ref.ID))
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := sessionWatch.Run(ctx, s.client, []string{s.govPrefix + govWatches}, args...).Err(); err != nil {
		return fmt.Errorf("redisstore: watch sessions: %w", err)
	}
	return nil
}

// ClaimUnwatched implements contract.SessionTracker: one script takes up
// to limit watches that lapsed by now and extends them to until for the
// caller, so that each session is adopted by exactly one node.
func (s *Store) ClaimUnwatched(ctx context.Context, now, until time.Time, limit int) ([]contract.TrackedSession, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	reply, err := sessionAdopt.Run(ctx, s.client, []string{s.govPrefix + govWatches},
		floorMillis(time.Until(now)), limit, s.govPrefix, ceilMillis(until.Sub(now))).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: claim unwatched sessions: %w", err)
	}
	adopted, err := claimedSessions(reply, now)
	if err != nil {
		return adopted, fmt.Errorf("redisstore: claim unwatched sessions: %w", err)
	}
	for i := range adopted {
		adopted[i].Watched = until
	}
	return adopted, nil
}

// govKey returns the key of kind for principal. The principal ends the
// key, so any bytes are safe in it; every governance key carries the hash
// tag {gov}, so that one script may touch several of them on Redis Cluster.
func (s *Store) govKey(kind, principal string) string {
	var b strings.Builder
	b.Grow(len(s.govPrefix) + len(kind) + len(principal))
	b.WriteString(s.govPrefix)
	b.WriteString(kind)
	b.WriteString(principal)
	return b.String()
}

// sessionKeys returns the keys of session_track.lua and session_end.lua.
func (s *Store) sessionKeys(principal string) []string {
	return []string{
		s.govKey(govSessions, principal),
		s.govKey(govSessionLeases, principal),
		s.govKey(govLeases, principal),
		s.govPrefix + govDeadlines,
		s.govPrefix + govWatches,
	}
}

// endedKey returns the key of how principal's session id ended.
func (s *Store) endedKey(principal, id string) string {
	return s.govKey(govEnded, deadlineMember(principal, id))
}

// deadlineMember returns the deadline set's member for principal's session
// id: the principal's length in decimal, ":", the principal and the id, so
// that any bytes in either come apart again.
func deadlineMember(principal, id string) string {
	return strconv.Itoa(len(principal)) + ":" + principal + id
}
