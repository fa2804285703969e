package realtimesecret

import "context"

type contextKey struct{}

// FromContext returns the record of the ephemeral token that the request
// carrying ctx redeems, as set by the middleware on pass-through requests.
// It returns false when there is none, and is safe with a nil ctx.
func FromContext(ctx context.Context) (Record, bool) {
	if ctx == nil {
		return Record{}, false
	}
	rec, ok := ctx.Value(contextKey{}).(*Record)
	if !ok || rec == nil {
		return Record{}, false
	}
	return *rec, true
}

// NewContext returns a copy of ctx carrying rec, as FromContext reads it.
// It is for tests of handlers that consume attribution.
func NewContext(ctx context.Context, rec Record) context.Context {
	return context.WithValue(ctx, contextKey{}, &rec)
}
