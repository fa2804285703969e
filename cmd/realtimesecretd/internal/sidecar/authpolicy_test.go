package sidecar_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
)

const jwtPlansYAML = `auth:
  jwt:
    issuer: ${IDP_URL}
    audiences: [realtime-api]
    refresh_interval: 1s
    policy_claim: plan
    policies:
      free: {max_sessions: 1}
      pro: {max_sessions: 3}
    default_policy: free
`

// TestJWTPlansThroughTheSidecar: policies picked by a plan claim hold per
// user on brokered sessions; bad tokens are 401 and reach nothing; the
// identity provider's keys rotate without a restart.
func TestJWTPlansThroughTheSidecar(t *testing.T) {
	idp := fakeidp.New()
	t.Cleanup(idp.Close)
	h := start(t, options{extra: jwtPlansYAML, env: map[string]string{"IDP_URL": idp.Issuer()}})
	token := func(sub, plan string, tweak func(jwt.MapClaims)) string {
		c := idp.Claims(sub, "realtime-api")
		c["plan"] = plan
		if tweak != nil {
			tweak(c)
		}
		return idp.Sign(c)
	}

	// User A, free: one session, then 429.
	alice := token("alice", "free", nil)
	status, _, body := h.brokerCall(t, alice)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = h.brokerCall(t, alice)
	require.Equal(t, http.StatusTooManyRequests, status, string(body))
	assert.Contains(t, string(body), `"code":"too_many_sessions"`)

	// User B, pro: three at the same time.
	bob := token("bob", "pro", nil)
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for range 3 {
		wg.Go(func() {
			status, _, _ := h.brokerCall(t, bob)
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		assert.Equal(t, http.StatusCreated, s)
	}

	// Bad tokens: 401, nothing created upstream.
	created := h.Fake.SessionsCreated()
	for name, tok := range map[string]string{
		"expired":          token("carol", "pro", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"another audience": token("carol", "pro", func(c jwt.MapClaims) { c["aud"] = "another-api" }),
		"alg none":         noneToken(t, idp.Claims("carol", "realtime-api")),
	} {
		status, _, body := h.brokerCall(t, tok)
		assert.Equal(t, http.StatusUnauthorized, status, "%s: %s", name, body)
	}
	assert.Equal(t, created, h.Fake.SessionsCreated(), "no bad token reached the provider")

	// The provider rotates its keys: a token signed with the new key
	// verifies once the key set may be fetched again, without a restart.
	idp.Rotate("rotated")
	dave := token("dave", "pro", nil)
	require.Eventually(t, func() bool {
		status, _, _ := h.brokerCall(t, dave)
		return status == http.StatusCreated
	}, 60*time.Second, 200*time.Millisecond, "the rotated key verifies once refresh_interval allows a fetch")
}

// noneToken is claims with alg none, unsigned.
func noneToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return s
}
