package realtimesecret_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// providerProxy is next in OpenAI's own WebRTC flow: the app's proxy to
// the provider, which creates a call for each offer with a known secret.
type providerProxy struct {
	mu     sync.Mutex
	calls  int
	status int // 0: 201
}

func (p *providerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.calls++
	n, status := p.calls, p.status
	p.mu.Unlock()
	if status == 0 {
		status = http.StatusCreated
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/v1/realtime/calls/rtc_ek"+strconv.Itoa(n))
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(testAnswer))
}

func (p *providerProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// ekCall posts an offer with the minted secret, as OpenAI's guide has the
// browser do.
func ekCall(t *testing.T, h http.Handler, secret string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/realtime/calls", strings.NewReader(testOffer))
	r.Header.Set("Content-Type", "application/sdp")
	r.Header.Set("Authorization", "Bearer "+secret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestCallWithAMintedSecretIsGoverned: a call the browser creates itself
// with a secret minted here counts against the minting key's MaxSessions
// (the second is 429 before anything reaches the provider), is recorded
// for its owner's hang-up with the key that minted the secret, and is
// capped at MaxSession.
func TestCallWithAMintedSecretIsGoverned(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys[0].MaxSessions = 1
	cfg.VirtualKeys[0].MaxSession = 400 * time.Millisecond
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	proxy := &providerProxy{}
	srv := h.Wrap(proxy)

	mint := func() string {
		return mintedValue(t, do(t, srv, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	}
	w := ekCall(t, srv, mint())
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Equal(t, "/v1/realtime/calls/rtc_ek1", w.Header().Get("Location"), "the provider's answer as it was")
	assert.Equal(t, testAnswer, w.Body.String())

	w = ekCall(t, srv, mint())
	assert.Equal(t, "too_many_sessions", *requireAPIError(t, w, http.StatusTooManyRequests).Error.Code)
	assert.Equal(t, 1, proxy.count(), "nothing reached the provider")

	rec, found, err := h.LookupSession(t.Context(), "rtc_ek1")
	require.NoError(t, err)
	require.True(t, found, "recorded for its owner")
	assert.Equal(t, contract.EndpointCall, rec.Endpoint)
	assert.Equal(t, "web", rec.VirtualKeyID)
	assert.Equal(t, "primary", rec.KeyID)

	require.Eventually(t, func() bool { return len(up.hangups()) == 1 }, 10*time.Second, 10*time.Millisecond, "the cap ended it")
	assert.Equal(t, []string{"rtc_ek1"}, up.hangups())
	assert.Equal(t, http.StatusCreated, ekCall(t, srv, mint()).Code, "the cap freed the lease")
}

// TestCallWithAMintedSecretOwnerHangsUp: the owner hangs such a call up
// through the middleware; a refused creation holds no lease; an unknown
// secret passes through ungoverned, as before.
func TestCallWithAMintedSecretOwnerHangsUp(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys[0].MaxSessions = 1
	proxy := &providerProxy{}
	srv := realtimesecret.Middleware(cfg)(proxy)
	mint := func() string {
		return mintedValue(t, do(t, srv, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	}

	proxy.status = http.StatusBadRequest
	require.Equal(t, http.StatusBadRequest, ekCall(t, srv, mint()).Code)
	proxy.status = 0
	require.Equal(t, http.StatusCreated, ekCall(t, srv, mint()).Code, "the refused call held no lease")

	w := do(t, srv, http.MethodPost, "/v1/realtime/calls/rtc_ek2/hangup", "", "Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, []string{"rtc_ek2"}, up.hangups())
	require.Equal(t, http.StatusCreated, ekCall(t, srv, mint()).Code, "the hang-up freed the lease")

	assert.Equal(t, http.StatusCreated, ekCall(t, srv, "ek_unknown").Code, "an unknown secret passes through")
	assert.Equal(t, 4, proxy.count())
}
