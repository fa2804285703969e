package realtimesecret_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func newGoverned(t *testing.T, up *brokerProvider, vk func(*realtimesecret.VirtualKey)) (*realtimesecret.Handler, http.Handler) {
	t.Helper()
	cfg := twoCallers(up)
	vk(&cfg.VirtualKeys[0])
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h, h.Wrap(&nextRecorder{})
}

func TestGovernanceCapEndsCallsAndLiveSessions(t *testing.T) {
	up := newBrokerProvider()
	const maxSession = time.Second
	h, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSession = maxSession })

	start := time.Now()
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	rec, ok, err := h.LookupSession(context.Background(), "rtc_1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, maxSession+time.Minute, rec.ExpiresAt.Sub(rec.CreatedAt), "the record outlives the cap by a minute, for the node that ends it")

	require.Eventually(t, func() bool { return len(up.hangups()) == 2 }, maxSession+3*time.Second, 10*time.Millisecond)
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, maxSession, "not before the deadline")
	assert.LessOrEqual(t, elapsed, maxSession+2*time.Second, "within 2 s of the deadline")
	assert.Equal(t, []string{"rtc_1", "sess_2"}, up.hangups())
	for _, got := range up.sessionRequests() {
		if got.Endpoint.IsHangup() {
			want := map[string]string{"rtc_1": "realtime-key", "sess_2": "live-key"}[got.SessionID]
			assert.Equal(t, want, got.Key.ID, "%s ended with the key that created it", got.SessionID)
		}
	}

	time.Sleep(time.Second) // a few more claim rounds
	assert.Len(t, up.hangups(), 2, "every cap is enforced once")
}

func TestGovernanceCapOfASessionHungUpBeforeIsNotEnforced(t *testing.T) {
	up := newBrokerProvider()
	_, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSession = 500 * time.Millisecond })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Equal(t, http.StatusOK, do(t, srv, http.MethodPost, "/v1/realtime/calls/rtc_1/hangup", "", "Authorization", "Bearer "+vkWeb).Code)
	time.Sleep(time.Second)
	assert.Equal(t, []string{"rtc_1"}, up.hangups(), "the client's hang-up only")
}

func TestLeaseMaxSessionsCountsBrokeredSessions(t *testing.T) {
	up := newBrokerProvider()
	_, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSessions = 2 })
	newCall := func() *httptest.ResponseRecorder {
		return call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	}
	require.Equal(t, http.StatusCreated, newCall().Code)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	created := up.sessionCount()

	w := newCall()
	assert.Equal(t, "too_many_sessions", *requireAPIError(t, w, http.StatusTooManyRequests).Error.Code)
	assert.Equal(t, created, up.sessionCount(), "nothing was sent upstream")
	w = call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`, "Authorization", "Bearer vk-other-secret-0002")
	assert.Equal(t, http.StatusCreated, w.Code, "another key has its own sessions")

	require.Equal(t, http.StatusOK, do(t, srv, http.MethodPost, "/v1/live/sessions/sess_2/hangup", "", "Authorization", "Bearer "+vkWeb).Code)
	assert.Equal(t, http.StatusCreated, newCall().Code, "a hang-up frees its slot")
	assert.Equal(t, http.StatusTooManyRequests, newCall().Code)
}

// TestLeaseFreedWhenCreationIsRefused: a creation the provider refused
// (a non-2xx reply) or the adapter refused (an *Error) created nothing, and
// gives its lease back.
func TestLeaseFreedWhenCreationIsRefused(t *testing.T) {
	up := newBrokerProvider()
	refusals := []func() (*contract.Reply, error){
		func() (*contract.Reply, error) {
			return &contract.Reply{StatusCode: http.StatusBadRequest, Body: []byte(`{"error":{"message":"no","type":"invalid_request_error"}}`)}, nil
		},
		func() (*contract.Reply, error) {
			return nil, &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_endpoint", Message: "no"}
		},
	}
	refuse := true
	var n int
	up.sessionReply = func(req *contract.SessionRequest) (*contract.Reply, error) {
		if refuse {
			n++
			return refusals[n%len(refusals)]()
		}
		up.sessionReply = nil
		return up.Session(context.Background(), req)
	}
	_, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSessions = 1 })
	for range 4 {
		w := call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
		require.Equal(t, http.StatusBadRequest, w.Code)
	}
	refuse = false
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code,
		"refused creations hold no lease")
}

// TestLeaseKeptWhenTheCreationsOutcomeIsUnknown: a creation that timed
// out or lost its connection may have created a paid session upstream; its
// lease is kept until it lapses at MaxSession, so the key is never over
// its MaxSessions, and the answer says not to retry.
func TestLeaseKeptWhenTheCreationsOutcomeIsUnknown(t *testing.T) {
	for _, fault := range []error{contract.ErrUpstreamTimeout, contract.ErrUpstreamUnavailable} {
		t.Run(fault.Error(), func(t *testing.T) {
			up := newBrokerProvider()
			var failed atomic.Bool
			up.sessionReply = func(req *contract.SessionRequest) (*contract.Reply, error) {
				if failed.CompareAndSwap(false, true) {
					return nil, fault // as if the upstream created it, then the answer was lost
				}
				up.sessionReply = nil
				return up.Session(context.Background(), req)
			}
			const maxSession = 300 * time.Millisecond
			_, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSessions, vk.MaxSession = 1, maxSession })
			w := call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
			require.GreaterOrEqual(t, w.Code, 500)
			assert.Equal(t, "false", w.Header().Get("X-Should-Retry"))
			w = call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
			assert.Equal(t, "too_many_sessions", *requireAPIError(t, w, http.StatusTooManyRequests).Error.Code,
				"the unknown session still counts")
			require.Eventually(t, func() bool {
				return call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code == http.StatusCreated
			}, 10*time.Second, 50*time.Millisecond, "the kept lease lapses at MaxSession")
		})
	}
}

func TestLeaseMaxSessionsCountsWebSocketRedemptions(t *testing.T) {
	up := newBrokerProvider()
	cfg := twoCallers(up)
	cfg.VirtualKeys[0].MaxSessions = 1
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	release := make(chan struct{})
	upgraded := make(chan struct{}, 1)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			upgraded <- struct{}{}
			<-release // the proxied WebSocket is open until this returns
		}
		w.WriteHeader(nextStatus)
	})
	srv := h.Wrap(next)
	token := mintedValue(t, do(t, srv, http.MethodPost, "/v1/realtime/client_secrets",
		`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`, "Authorization", "Bearer "+vkWeb))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		do(t, srv, http.MethodGet, "/v1/realtime?model=gpt-realtime", "", "Authorization", "Bearer "+token,
			"Upgrade", "websocket", "Connection", "Upgrade")
	}()
	<-upgraded
	w := call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	assert.Equal(t, "too_many_sessions", *requireAPIError(t, w, http.StatusTooManyRequests).Error.Code)
	w = do(t, srv, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token, "Upgrade", "websocket")
	requireAPIError(t, w, http.StatusTooManyRequests)
	w = do(t, srv, http.MethodPost, "/v1/responses", "", "Authorization", "Bearer "+token)
	assert.Equal(t, nextStatus, w.Code, "only WebSocket upgrades hold a session")

	close(release)
	wg.Wait()
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code,
		"the closed WebSocket freed its slot")
}

func TestGovernanceEndSessionsEndsOneKeysSessions(t *testing.T) {
	up := newBrokerProvider()
	h, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSessions = 2 })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`,
		"Authorization", "Bearer vk-other-secret-0002").Code)

	n, err := h.EndSessions(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"rtc_1", "sess_2"}, up.hangups(), "the other key's rtc_3 is left alone")

	n, err = h.EndSessions(context.Background(), "web")
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is left to end")
	n, err = h.EndSessions(context.Background(), "nobody")
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code,
		"ended sessions hold no lease")
}

// TestLeaseFreedWhenTheProviderNoLongerKnowsTheSession: a hang-up the
// provider answers 404 (the session is over upstream) ends the session
// here too: its lease is free, and the 404 is passed on.
func TestLeaseFreedWhenTheProviderNoLongerKnowsTheSession(t *testing.T) {
	up := newBrokerProvider()
	up.sessionReply = func(req *contract.SessionRequest) (*contract.Reply, error) {
		if req.Endpoint.IsHangup() {
			return &contract.Reply{StatusCode: http.StatusNotFound,
				Body: []byte(`{"error":{"message":"no such call","type":"invalid_request_error","param":null,"code":"not_found"}}`)}, nil
		}
		return sessionDefault(req, up.sessionCount())
	}
	_, srv := newGoverned(t, up, func(vk *realtimesecret.VirtualKey) { vk.MaxSessions = 1 })
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Equal(t, http.StatusTooManyRequests, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)

	w := do(t, srv, http.MethodPost, "/v1/realtime/calls/rtc_1/hangup", "", "Authorization", "Bearer "+vkWeb)
	assert.Equal(t, "not_found", *requireAPIError(t, w, http.StatusNotFound).Error.Code, "the provider's answer is passed on")
	assert.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code,
		"the ended session's lease is free")
}
