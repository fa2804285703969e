// Package realtimesecrettest has helpers for testing code that uses the
// realtimesecret middleware, as net/http/httptest has for net/http: a
// Provider made of a function, and a context carrying a Record for tests
// of the handlers behind the middleware.
package realtimesecrettest

import (
	"context"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/internal/recordctx"
)

// ProviderFunc adapts a function to contract.Provider, for tests and
// one-off upstreams.
type ProviderFunc func(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error)

// Mint calls f(ctx, req).
func (f ProviderFunc) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	return f(ctx, req)
}

// NewContext returns a copy of ctx carrying rec, as realtimesecret.FromContext
// reads it: a request with it looks, to the handler behind the middleware,
// like one the middleware attributed.
func NewContext(ctx context.Context, rec contract.Record) context.Context {
	return recordctx.With(ctx, &rec)
}
