package faultupstream

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// HangTimeout is the exchange timeout Faults gives the faults that hang:
// long enough to send a request on loopback, short enough for a test.
const HangTimeout = 50 * time.Millisecond

// Fault is one failure mode and what it must become.
type Fault struct {
	Name string
	// Start starts the upstream and returns its base URL.
	Start func(t testing.TB) string
	// Want is the realtimesecret sentinel the mint error must match.
	Want error
	// Timeout is the exchange timeout the test must configure: HangTimeout
	// for a fault the client only leaves by giving up, zero (the default)
	// for the others, which fail on their own and must not be mistaken
	// for a timeout on a slow machine.
	Timeout time.Duration
}

// Faults is every fault of the package, for a table test proving that a
// mint through it fails with Want and an error that does not show the
// credential.
var Faults = []Fault{
	{Name: "hang", Start: Hang, Want: contract.ErrUpstreamTimeout, Timeout: HangTimeout},
	{Name: "hang mid-body", Start: HangMidBody, Want: contract.ErrUpstreamTimeout, Timeout: HangTimeout},
	{Name: "connection refused", Start: Refused, Want: contract.ErrUpstreamUnavailable},
	{Name: "closed before headers", Start: CloseBeforeHeaders, Want: contract.ErrUpstreamUnavailable},
	{Name: "reset mid-body", Start: ResetMidBody, Want: contract.ErrUpstreamUnavailable},
	{Name: "untrusted TLS", Start: UntrustedTLS, Want: contract.ErrUpstreamUnavailable},
	{Name: "credential echoed in status line", Start: EchoCredential, Want: contract.ErrUpstreamUnavailable},
	{Name: "redirect", Start: func(t testing.TB) string { return Redirect(t, http.StatusTemporaryRedirect) }, Want: contract.ErrUpstreamBadResponse},
}

// sentinels are the upstream sentinels: a mint error matches exactly one.
var sentinels = []error{
	contract.ErrUpstreamTimeout,
	contract.ErrUpstreamUnavailable,
	contract.ErrUpstreamBadResponse,
}

// Check fails t unless err matches f.Want and no other upstream sentinel,
// and its text holds none of secrets (the credentials the mint sent).
func (f Fault) Check(t testing.TB, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	for _, s := range sentinels {
		if s == f.Want { //nolint:errorlint // comparing the table's own values, not matching an error
			assert.ErrorIs(t, err, s)
		} else {
			assert.NotErrorIs(t, err, s)
		}
	}
	for _, s := range secrets {
		assert.NotContains(t, err.Error(), s)
	}
}
