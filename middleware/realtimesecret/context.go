package realtimesecret

import (
	"context"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/internal/recordctx"
)

// FromContext returns the record of the ephemeral token (or brokered
// session) that the request carrying ctx redeems, as set by the middleware
// on pass-through requests. It returns false when there is none, and is
// safe with a nil ctx. Tests of handlers that read it can set one with
// realtimesecrettest.NewContext.
func FromContext(ctx context.Context) (Record, bool) {
	return recordctx.From(ctx)
}
