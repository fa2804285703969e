package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Redacted replaces a credential in error texts.
const Redacted = "[REDACTED]"

// classify picks the sentinel for a failed exchange. The caller's context
// is looked at first: its cancellation is not the upstream's fault, and our
// own deadline firing surfaces as many different transport errors.
func classify(parent, bounded context.Context, err error) error {
	switch cerr := parent.Err(); {
	case errors.Is(cerr, context.DeadlineExceeded):
		return errCallerDeadline
	case cerr != nil:
		return cerr
	case bounded.Err() != nil:
		return contract.ErrUpstreamTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() { // Client.Timeout, dial timeout
		return contract.ErrUpstreamTimeout
	}
	return contract.ErrUpstreamUnavailable
}

// errCallerDeadline matches both ErrUpstreamTimeout and
// context.DeadlineExceeded: the upstream did not answer within the time the
// caller had, and a client still waiting is best told so with a 504.
var errCallerDeadline = fmt.Errorf("%w: %w", contract.ErrUpstreamTimeout, context.DeadlineExceeded)

// mintError is a failed exchange. Its text is built once, with the
// credential removed, so that no transport or upstream text can carry the
// credential into a log.
type mintError struct {
	msg  string
	errs []error
}

func (e *mintError) Error() string   { return e.msg }
func (e *mintError) Unwrap() []error { return e.errs }

// fail returns an error matching kind (a realtimesecret sentinel or a
// context error) and cause, whose text names the adapter and endpoint and
// never contains secret.
func fail(kind error, name string, ep realtimesecret.Endpoint, cause error, secret string) error {
	msg := kind.Error() + ": " + name + " " + ep.String() + ": " + cause.Error()
	return &mintError{msg: Redact(msg, secret), errs: []error{kind, cause}}
}

// Redact returns s with every occurrence of secret replaced by Redacted.
// An empty secret leaves s as it is.
func Redact(s, secret string) string {
	if secret == "" || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}
