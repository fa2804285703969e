package contract

import (
	"context"
	"time"
)

// RateLimiter decides whether one more mint fits a caller's Rate. Allow
// counts the mint when it returns true; when it returns false, retryAfter
// says when the next one would fit. It must be safe for concurrent use. An
// error means the limiter could not decide (for example a shared store is
// down); see Config.StrictStore.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit Rate) (ok bool, retryAfter time.Duration, err error)
}
