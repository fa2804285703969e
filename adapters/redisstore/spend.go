package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var (
	//go:embed spend_add.lua
	spendAddSource string
	//go:embed spend_get.lua
	spendGetSource string
)

// The spend scripts (see each).
var (
	spendAdd = redis.NewScript(spendAddSource)
	spendGet = redis.NewScript(spendGetSource)
)

var _ contract.SpendLedger = (*Store)(nil)

// The keys of the spend ledger, under the governance prefix: a session's
// recorded cost at govSessionSpend + <len(principal)>:<principal><id>,
// and each period's spend at govSpend + <per ms>:<start ms>:<principal>.
const (
	govSessionSpend = "sspend:"
	govSpend        = "spend:"
)

// microsPerDollar is the unit costs are kept in: whole micro-dollars, so
// that sums are exact integers (INCRBY) and a Lua number holds up to about
// nine billion dollars exactly.
const microsPerDollar = 1e6

// maxMicros bounds a cost: Lua numbers are exact below 2^53.
const maxMicros = 1 << 53

var errSpendPeriod = errors.New("redisstore: a budget period must be at least a millisecond")

// AddSpend implements contract.SpendLedger in one script (one round
// trip): it raises the session's recorded cost to s.USD (rounded up to a
// micro-dollar) and adds the growth to the principal's spend in the current
// period, on the Redis clock, so that every node shares one budget and a
// repeated call counts nothing twice.
func (s *Store) AddSpend(ctx context.Context, ss contract.SessionSpend) (contract.Spend, error) {
	per := ss.Per.Milliseconds()
	if per <= 0 {
		return contract.Spend{}, errSpendPeriod
	}
	micros := math.Ceil(ss.USD * microsPerDollar)
	if !(micros >= 0) || micros > maxMicros {
		return contract.Spend{}, fmt.Errorf("redisstore: add spend: cost %v out of range", ss.USD)
	}
	ttl := max(ceilMillis(time.Until(ss.Expires)), 1)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	reply, err := spendAdd.Run(ctx, s.client, []string{s.govKey(govSessionSpend, deadlineMember(ss.Principal, ss.ID))},
		s.govPrefix+govSpend, ss.Principal, int64(micros), per, ttl).Int64Slice()
	if err != nil {
		return contract.Spend{}, fmt.Errorf("redisstore: add spend: %w", err)
	}
	return spendOf(reply)
}

var _ contract.SessionCosts = (*Store)(nil)

// SessionCost implements contract.SessionCosts: the session's recorded
// cost, kept in micro-dollars.
func (s *Store) SessionCost(ctx context.Context, principal, id string) (float64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	micros, err := s.client.Get(ctx, s.govKey(govSessionSpend, deadlineMember(principal, id))).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("redisstore: session cost: %w", err)
	}
	return float64(micros) / microsPerDollar, nil
}

// Spent implements contract.SpendLedger: one script reads the principal's
// spend in the current period of the Redis clock.
func (s *Store) Spent(ctx context.Context, principal string, per time.Duration) (contract.Spend, error) {
	ms := per.Milliseconds()
	if ms <= 0 {
		return contract.Spend{}, errSpendPeriod
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	reply, err := spendGet.Run(ctx, s.client, []string{s.govPrefix + govSpend}, s.govPrefix+govSpend, principal, ms).Int64Slice()
	if err != nil {
		return contract.Spend{}, fmt.Errorf("redisstore: spent: %w", err)
	}
	return spendOf(reply)
}

func spendOf(reply []int64) (contract.Spend, error) {
	if len(reply) != 2 {
		return contract.Spend{}, fmt.Errorf("redisstore: spend: %w", ErrCorruptValue)
	}
	return contract.Spend{USD: float64(reply[0]) / microsPerDollar, PeriodStart: time.UnixMilli(reply[1]).UTC()}, nil
}
