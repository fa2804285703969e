package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var _ contract.UseMarker = (*Store)(nil)

// MarkUsed marks h used until until, with one SET NX: of every call for h
// before until, on every node on the same Redis and prefix, exactly one
// is first. It is what makes a single-use secret single-use across nodes,
// sealed ones included.
func (s *Store) MarkUsed(ctx context.Context, h contract.TokenHash, until time.Time) (bool, error) {
	if !until.After(time.Now()) {
		until = time.Now().Add(time.Second) // expired already: one use is still one use
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.client.SetArgs(ctx, s.usedKey(h), "1", redis.SetArgs{Mode: "NX", ExpireAt: until}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil // marked before
	case err != nil:
		return false, fmt.Errorf("redisstore: mark used: %w", err)
	}
	return true, nil
}

// usedKey is the key of a token's use mark: the prefix, "used:" and the
// hash in hex.
func (s *Store) usedKey(h contract.TokenHash) string {
	return strings.TrimSuffix(s.tokPrefix, "tok:") + "used:" + strings.TrimPrefix(s.tokenKey(h), s.tokPrefix)
}
