// Package recordctx carries the Record of an attributed request in its
// context. It is shared by the middleware, which sets it, and by
// realtimesecrettest, whose NewContext sets it for tests of the handlers
// that read it.
package recordctx

import (
	"context"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

type key struct{}

// With returns a copy of ctx carrying rec.
func With(ctx context.Context, rec *contract.Record) context.Context {
	return context.WithValue(ctx, key{}, rec)
}

// From returns the record ctx carries; false when none (or ctx is nil).
func From(ctx context.Context) (contract.Record, bool) {
	if ctx == nil {
		return contract.Record{}, false
	}
	rec, ok := ctx.Value(key{}).(*contract.Record)
	if !ok || rec == nil {
		return contract.Record{}, false
	}
	return *rec, true
}
