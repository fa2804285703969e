package contract

import (
	"context"
	"time"
)

// Price is what a model costs, in US dollars: per million tokens of each
// kind for a Realtime model, per second for a GPT-Live one. A zero field is
// free. The middleware prices what a session's sideband reports with it.
type Price struct {
	// TextInput, AudioInput and ImageInput are per 1M input tokens not
	// served from the provider's cache.
	TextInput  float64
	AudioInput float64
	ImageInput float64
	// CachedTextInput, CachedAudioInput and CachedImageInput are per 1M
	// input tokens served from the cache (a small fraction of the
	// uncached price).
	CachedTextInput  float64
	CachedAudioInput float64
	CachedImageInput float64
	// TextOutput and AudioOutput are per 1M output tokens.
	TextOutput  float64
	AudioOutput float64
	// PerSecond is per second of a GPT-Live session's duration.
	PerSecond float64
}

// Budget caps what a principal's metered sessions may cost per period.
type Budget struct {
	// USD is the most the sessions may cost in one period, in US dollars.
	// Zero means no budget.
	USD float64
	// Per is the period's length: fixed windows aligned to the Unix epoch
	// (a 24h budget starts over at 00:00 UTC), on the SpendLedger's clock.
	// At least a minute.
	Per time.Duration
}

// IsZero reports whether the budget sets no limit.
func (b Budget) IsZero() bool { return b.USD <= 0 }

// Start returns the start of the budget's period that holds t: t rounded
// down to a multiple of Per since the Unix epoch, in UTC.
func (b Budget) Start(t time.Time) time.Time {
	if b.Per <= 0 {
		return time.Time{}
	}
	per := b.Per.Milliseconds()
	ms := t.UnixMilli()
	ms -= ((ms % per) + per) % per
	return time.UnixMilli(ms).UTC()
}

// SpendLedger keeps what principals spent on metered sessions, per budget
// period, so that a budget holds while a session runs and across nodes.
// Implementations must be safe for concurrent use; memory.SessionRegistry
// keeps it for one process, adapters/redisstore across nodes.
type SpendLedger interface {
	// AddSpend raises the recorded cost of s.ID to s.USD, the session's
	// running total, and adds what it grew by to s.Principal's spend in
	// the current period of length s.Per. A total at or below the one
	// recorded adds nothing, so a repeated or late call never counts
	// twice. It returns the principal's spend in that period.
	AddSpend(ctx context.Context, s SessionSpend) (Spend, error)
	// Spent returns principal's spend in the current period of length per.
	Spent(ctx context.Context, principal string, per time.Duration) (Spend, error)
}

// SessionCosts is implemented by SpendLedgers that tell what a session's
// recorded cost is. A node that adopts a session whose metering node
// stopped goes on from it, so that what the session costs after the
// adoption counts in full. It is optional, found by type assertion as
// SpendLedger is; memory.SessionRegistry and adapters/redisstore
// implement it.
type SessionCosts interface {
	// SessionCost returns the cost recorded for principal's session id by
	// AddSpend; 0 when none is.
	SessionCost(ctx context.Context, principal, id string) (float64, error)
}

// SessionSpend is the running cost of one metered session.
type SessionSpend struct {
	// Principal is the VirtualKey or Principal ID that created it.
	Principal string
	// ID is the call or session id.
	ID string
	// USD is what it cost so far.
	USD float64
	// Per is the principal's budget period.
	Per time.Duration
	// Expires is when the session's recorded cost may be forgotten: its
	// record's expiry.
	Expires time.Time
}

// Spend is a principal's spend in one budget period.
type Spend struct {
	// USD is what its sessions cost in the period so far.
	USD float64
	// PeriodStart is when the period began.
	PeriodStart time.Time
}
