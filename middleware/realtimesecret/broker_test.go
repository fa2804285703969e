package realtimesecret_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func TestCallBrokeredWithTheMintsPolicyAndKey(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.Providers[0].Keys[0].Aliases = map[string]string{"realtime": "gpt-realtime-2025"}
	var events []realtimesecret.SessionEvent
	cfg.OnSession = func(ev realtimesecret.SessionEvent) { events = append(events, ev) }
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	next := &nextRecorder{}

	session := `{ "type":"realtime",  "model" : "openai/realtime", "instructions":"Be brief \u00e9"}`
	w := call(t, h.Wrap(next), "/v1/realtime/calls", session, "X-Request-Id", "client-req", "Cookie", "a=b")

	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Equal(t, "application/sdp", w.Header().Get("Content-Type"))
	assert.Equal(t, testAnswer, w.Body.String(), "the SDP answer byte for byte")
	assert.Equal(t, "/v1/realtime/calls/rtc_1", w.Header().Get("Location"))
	assert.Equal(t, "req_session", w.Header().Get("X-Request-Id"))
	assert.Empty(t, w.Header().Get("Set-Cookie"), "unsafe upstream headers are dropped")
	assert.Empty(t, next.reqs, "a brokered call never reaches next")

	got := up.lastSession(t)
	assert.Equal(t, contract.EndpointCall, got.Endpoint)
	assert.Equal(t, "primary", got.Key.ID)
	assert.Equal(t, "client-req", got.Header.Get("X-Request-Id"))
	assert.Empty(t, got.Header.Get("Authorization"))
	assert.Empty(t, got.Header.Get("Cookie"))
	names, parts := readParts(t, got.ContentType, got.Body)
	assert.Equal(t, []string{"sdp", "session"}, names)
	assert.Equal(t, testOffer, parts["sdp"], "the offer byte for byte")
	assert.Equal(t, `{ "type":"realtime",  "model" : "gpt-realtime-2025", "instructions":"Be brief \u00e9"}`, parts["session"],
		"only the model is rewritten, to the bare alias target")
	assert.NotContains(t, string(got.Body), vkWeb)

	require.Len(t, events, 1)
	ev := events[0]
	assert.Equal(t, contract.EndpointCall, ev.Endpoint)
	assert.Equal(t, http.StatusCreated, ev.Status)
	assert.Equal(t, "rtc_1", ev.SessionID)
	assert.Equal(t, "realtime", ev.Model, "events carry the requested model, as for mints")
	assert.Equal(t, "web", ev.VirtualKeyID)
	assert.Equal(t, "primary", ev.KeyID)

	rec, ok, err := h.LookupSession(context.Background(), "rtc_1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "primary", rec.KeyID)
	assert.Equal(t, "web", rec.VirtualKeyID)
	assert.Equal(t, "openai", rec.Provider)
	assert.Equal(t, "gpt-realtime-2025", rec.Model)
	assert.Equal(t, contract.EndpointCall, rec.Endpoint)
	assert.WithinDuration(t, time.Now(), rec.CreatedAt, time.Minute)
	assert.Equal(t, realtimesecret.DefaultSessionLifetime, rec.ExpiresAt.Sub(rec.CreatedAt))

	_, ok, err = h.Lookup(context.Background(), "rtc_1")
	require.NoError(t, err)
	assert.False(t, ok, "a session id is not a token: the namespaces are apart")
}

func TestCallLocationIsThisServersPath(t *testing.T) {
	up := newBrokerProvider()
	up.sessionReply = func(*contract.SessionRequest) (*contract.Reply, error) {
		h := http.Header{"Location": {"https://api.openai.com/v1/realtime/calls/rtc_abc?x=1"}, "Content-Type": {"application/sdp"}}
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(testAnswer)}, nil
	}
	cfg := baseConfig(up)
	cfg.PathPrefix = "/api"
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	for path, want := range map[string]string{
		"/api/v1/realtime/calls":        "/api/v1/realtime/calls/rtc_abc",
		"/api/openai/v1/realtime/calls": "/api/openai/v1/realtime/calls/rtc_abc",
	} {
		w := call(t, h, path, `{"type":"realtime","model":"openai/gpt-realtime"}`)
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		assert.Equal(t, want, w.Header().Get("Location"), path)
	}
}

func TestCallRawOffer(t *testing.T) {
	up := newBrokerProvider()
	h := realtimesecret.Middleware(baseConfig(up))(&nextRecorder{})

	w := do(t, h, http.MethodPost, "/openai/v1/realtime/calls", testOffer, "Content-Type", "application/sdp", "Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	got := up.lastSession(t)
	names, parts := readParts(t, got.ContentType, got.Body)
	assert.Equal(t, []string{"sdp"}, names, "a raw offer goes upstream as multipart with the sdp part only")
	assert.Equal(t, testOffer, parts["sdp"])

	w = do(t, h, http.MethodPost, "/v1/realtime/calls", testOffer, "Content-Type", "application/sdp", "Authorization", "Bearer "+vkWeb)
	e := requireAPIError(t, w, http.StatusBadRequest)
	assert.Equal(t, "missing_provider", *e.Error.Code)
	assert.Contains(t, e.Error.Message, "/{provider}/v1/realtime/calls")
	assert.Equal(t, 1, up.sessionCount(), "nothing more was sent upstream")

	cfg := baseConfig(up)
	cfg.DefaultProvider = "openai"
	h = realtimesecret.Middleware(cfg)(&nextRecorder{})
	w = do(t, h, http.MethodPost, "/v1/realtime/calls", testOffer, "Content-Type", "application/sdp", "Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusCreated, w.Code, "a default provider takes raw offers on /v1/...: %s", w.Body.String())
	assert.Equal(t, "/v1/realtime/calls/rtc_2", w.Header().Get("Location"))
}

func TestLiveSessionBrokered(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.Providers[0].Keys[0].Aliases = map[string]string{"gpt-live": "gpt-live-1"}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	body := `{"session":{"model":"openai/gpt-live","voice":"marin"},"transport":{"type":"webrtc","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}}`
	w := do(t, h.Wrap(&nextRecorder{}), http.MethodPost, "/v1/live/sessions", body, "Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"session":{"id":"sess_1","model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`, w.Body.String())
	assert.Empty(t, w.Header().Get("Location"), "no Location is invented when the upstream gave none")

	got := up.lastSession(t)
	assert.Equal(t, contract.EndpointLiveSession, got.Endpoint)
	assert.Equal(t, "application/json", got.ContentType)
	assert.Equal(t, strings.Replace(body, "openai/gpt-live", "gpt-live-1", 1), string(got.Body), "GPT-Live refuses unknown fields: nothing is added")
	rec, ok, err := h.LookupSession(context.Background(), "sess_1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, contract.EndpointLiveSession, rec.Endpoint)
	assert.Equal(t, "gpt-live-1", rec.Model)
}

func TestBrokerRoutesWithAnEphemeralTokenPassThrough(t *testing.T) {
	up := newBrokerProvider()
	next := &nextRecorder{}
	h := realtimesecret.Middleware(baseConfig(up))(next)
	w := do(t, h, http.MethodPost, "/v1/realtime/calls", testOffer, "Content-Type", "application/sdp", "Authorization", "Bearer ek_abc")
	assert.Equal(t, nextStatus, w.Code)
	assert.Equal(t, "Bearer ek_abc", next.last(t).Header.Get("Authorization"))
	assert.Zero(t, up.sessionCount())
}

func TestBrokerPolicyRefusesBeforeTheUpstream(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.VirtualKeys[0].Models = []string{"gpt-realtime"}
	cfg.VirtualKeys[0].RateLimit = realtimesecret.Rate{Requests: 1, Per: time.Hour}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	live := func(model string) string {
		return `{"session":{"model":"` + model + `"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
	}

	w := do(t, h, http.MethodPost, "/v1/live/sessions", live("openai/gpt-realtime"), "Authorization", "Bearer vk-wrong")
	assert.Equal(t, "invalid_api_key", *requireAPIError(t, w, http.StatusUnauthorized).Error.Code)
	w = do(t, h, http.MethodPost, "/v1/live/sessions", live("openai/gpt-live-1"), "Authorization", "Bearer "+vkWeb)
	assert.Equal(t, "model_not_allowed", *requireAPIError(t, w, http.StatusForbidden).Error.Code)
	assert.Zero(t, up.sessionCount())

	w = call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	require.Equal(t, http.StatusCreated, w.Code, "the first within the rate")
	w = do(t, h, http.MethodPost, "/v1/live/sessions", live("openai/gpt-realtime"), "Authorization", "Bearer "+vkWeb)
	requireAPIError(t, w, http.StatusTooManyRequests)
	assert.NotEmpty(t, w.Header().Get("Retry-After"), "mints and brokered sessions share the one rate")
	assert.Equal(t, 1, up.sessionCount())
}

func TestBrokerFailuresAfterSendingAreNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		reply  func(*contract.SessionRequest) (*contract.Reply, error)
		status int
		code   string
		retry  string
	}{
		{name: "timeout", status: http.StatusGatewayTimeout, code: "upstream_timeout", retry: "false",
			reply: func(*contract.SessionRequest) (*contract.Reply, error) {
				return nil, fmt.Errorf("openai: %w", contract.ErrUpstreamTimeout)
			}},
		{name: "reset", status: http.StatusBadGateway, code: "upstream_unavailable", retry: "false",
			reply: func(*contract.SessionRequest) (*contract.Reply, error) {
				return nil, fmt.Errorf("openai: %w", contract.ErrUpstreamUnavailable)
			}},
		{name: "2xx without a call id", status: http.StatusBadGateway, code: "invalid_upstream_response", retry: "false",
			reply: func(*contract.SessionRequest) (*contract.Reply, error) {
				return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{}, Body: []byte(testAnswer)}, nil
			}},
		{name: "2xx with an unusable call id", status: http.StatusBadGateway, code: "invalid_upstream_response", retry: "false",
			reply: func(*contract.SessionRequest) (*contract.Reply, error) {
				h := http.Header{"Location": {"/v1/realtime/calls/<script>"}}
				return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(testAnswer)}, nil
			}},
		{name: "upstream error passes through", status: http.StatusBadRequest, code: "invalid_offer",
			reply: func(*contract.SessionRequest) (*contract.Reply, error) {
				return &contract.Reply{StatusCode: http.StatusBadRequest, Header: http.Header{},
					Body: []byte(`{"error":{"message":"bad offer","type":"invalid_request_error","param":null,"code":"invalid_offer"}}`)}, nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newBrokerProvider()
			up.sessionReply = tc.reply
			h, err := realtimesecret.New(baseConfig(up))
			require.NoError(t, err)
			w := call(t, h.Wrap(&nextRecorder{}), "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
			e := requireAPIError(t, w, tc.status)
			assert.Equal(t, tc.code, *e.Error.Code)
			assert.Equal(t, tc.retry, w.Header().Get("X-Should-Retry"))
			assert.NotContains(t, w.Body.String(), upstreamKey)
			_, ok, err := h.LookupSession(context.Background(), "rtc_1")
			require.NoError(t, err)
			assert.False(t, ok, "nothing is recorded for a failed creation")
		})
	}
}

func TestLiveReplyWithoutSessionIDIs502(t *testing.T) {
	for _, body := range []string{`{"transport":{}}`, `{"session":{}}`, `{"session":{"id":""}}`, `{"session":{"id":"a","id":"b"}}`, `[]`} {
		up := newBrokerProvider()
		up.sessionReply = func(*contract.SessionRequest) (*contract.Reply, error) {
			return &contract.Reply{StatusCode: http.StatusCreated, Header: http.Header{}, Body: []byte(body)}, nil
		}
		h := realtimesecret.Middleware(baseConfig(up))(&nextRecorder{})
		w := do(t, h, http.MethodPost, "/v1/live/sessions", `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`,
			"Authorization", "Bearer "+vkWeb)
		requireAPIError(t, w, http.StatusBadGateway)
		assert.Equal(t, "false", w.Header().Get("X-Should-Retry"), body)
	}
}

func TestBrokerNeedsASessionBroker(t *testing.T) {
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(&nextRecorder{})
	w := call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	assert.Equal(t, "unsupported_endpoint", *requireAPIError(t, w, http.StatusBadRequest).Error.Code)
	w = call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`, "Authorization", "Bearer vk-unknown")
	requireAPIError(t, w, http.StatusUnauthorized) // the caller is checked before anything about the configuration is told
}

// twoCallers is a config with two virtual keys and two upstream keys, each
// key serving one model, so a test knows which key created a session.
func twoCallers(up contract.Provider) realtimesecret.Config {
	cfg := baseConfig(up)
	cfg.Providers[0].Keys = []realtimesecret.Key{
		{ID: "realtime-key", Value: upstreamKey, Models: []string{"gpt-realtime"}},
		{ID: "live-key", Value: "sk-upstream-secret-0002", Models: []string{"gpt-live-1"}},
	}
	cfg.VirtualKeys = append(cfg.VirtualKeys, realtimesecret.VirtualKey{ID: "other", Value: "vk-other-secret-0002"})
	return cfg
}

func TestHangupByOwnerOnlyWithTheCreatingKey(t *testing.T) {
	up := newBrokerProvider()
	var events []realtimesecret.SessionEvent
	cfg := twoCallers(up)
	cfg.OnSession = func(ev realtimesecret.SessionEvent) { events = append(events, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	require.Equal(t, http.StatusCreated, call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	w := do(t, h, http.MethodPost, "/v1/live/sessions", `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`,
		"Authorization", "Bearer "+vkWeb)
	require.Equal(t, http.StatusCreated, w.Code)
	created := up.sessionCount()

	tests := []struct {
		name, path, vk string
		status         int
		code           string
	}{
		{name: "unknown call", path: "/v1/realtime/calls/rtc_9/hangup", vk: vkWeb, status: http.StatusNotFound, code: "session_not_found"},
		{name: "a Live id on the call route", path: "/v1/realtime/calls/sess_2/hangup", vk: vkWeb, status: http.StatusNotFound, code: "session_not_found"},
		{name: "another principal", path: "/v1/realtime/calls/rtc_1/hangup", vk: "vk-other-secret-0002", status: http.StatusForbidden, code: "session_not_owned"},
		{name: "no virtual key", path: "/v1/realtime/calls/rtc_1/hangup", vk: "", status: http.StatusUnauthorized, code: "missing_api_key"},
		{name: "another provider's scope", path: "/azure/v1/realtime/calls/rtc_1/hangup", vk: vkWeb, status: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := ""
			if tc.vk != "" {
				auth = "Bearer " + tc.vk
			}
			w := do(t, h, http.MethodPost, tc.path, "", "Authorization", auth)
			if tc.code == "" {
				assert.Equal(t, nextStatus, w.Code, "not a route of a configured provider: passed through")
			} else {
				assert.Equal(t, tc.code, *requireAPIError(t, w, tc.status).Error.Code)
			}
			assert.Equal(t, created, up.sessionCount(), "nothing was sent upstream")
		})
	}

	w = do(t, h, http.MethodGet, "/v1/realtime/calls/rtc_1/hangup", "", "Authorization", "Bearer "+vkWeb)
	requireAPIError(t, w, http.StatusMethodNotAllowed)
	assert.Equal(t, "POST", w.Header().Get("Allow"))

	for _, tc := range []struct{ path, id, key string }{
		{"/v1/realtime/calls/rtc_1/hangup", "rtc_1", "realtime-key"},
		{"/openai/v1/live/sessions/sess_2/hangup", "sess_2", "live-key"},
	} {
		events = nil
		w := do(t, h, http.MethodPost, tc.path, "", "Authorization", "Bearer "+vkWeb, "Content-Type", "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := up.lastSession(t)
		assert.True(t, got.Endpoint.IsHangup())
		assert.Equal(t, tc.id, got.SessionID)
		assert.Equal(t, tc.key, got.Key.ID, "sent with the key that created the session")
		assert.Empty(t, got.Body)
		require.Len(t, events, 1)
		assert.Equal(t, tc.id, events[0].SessionID)
		assert.Equal(t, tc.key, events[0].KeyID)
		assert.Equal(t, "web", events[0].VirtualKeyID)
	}
}

func TestHangupWhenTheStoreFailsIs503(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.Store = failingStore{}
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/calls/rtc_1/hangup", "", "Authorization", "Bearer "+vkWeb)
	requireAPIError(t, w, http.StatusServiceUnavailable)
	assert.Zero(t, up.sessionCount(), "ownership cannot be checked: nothing is sent")
}

func TestStrictStoreFailureHangsUpTheCreatedSession(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.Store = failingStore{}
	cfg.StrictStore = true
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	w := call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	requireAPIError(t, w, http.StatusServiceUnavailable)
	assert.Equal(t, "false", w.Header().Get("X-Should-Retry"))
	require.Equal(t, 2, up.sessionCount())
	got := up.lastSession(t)
	assert.Equal(t, contract.EndpointCallHangup, got.Endpoint)
	assert.Equal(t, "rtc_1", got.SessionID, "the session the client will never hear of is ended")
}

func TestRequestsNamingASessionAreAttributed(t *testing.T) {
	up := newBrokerProvider()
	var redeemed []realtimesecret.RedeemEvent
	cfg := baseConfig(up)
	cfg.OnRedeem = func(ev realtimesecret.RedeemEvent) { redeemed = append(redeemed, ev) }
	// A second provider, whose scope names none of the sessions.
	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{
		Name: "azure", Provider: newBrokerProvider(), Keys: []realtimesecret.Key{{ID: "az", Value: "az-key"}}})
	next := &nextRecorder{}
	h := realtimesecret.Middleware(cfg)(next)
	require.Equal(t, http.StatusCreated, call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Equal(t, http.StatusCreated, do(t, h, http.MethodPost, "/v1/live/sessions",
		`{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`, "Authorization", "Bearer "+vkWeb).Code)

	tests := []struct {
		path     string
		endpoint realtimesecret.Endpoint
	}{
		{"/v1/realtime?call_id=rtc_1", contract.EndpointCall},
		{"/openai/v1/realtime?model=x&call_id=rtc_1", contract.EndpointCall},
		{"/v1/realtime?call_id=rtc%5F1", contract.EndpointCall},
		{"/v1/live/sessions/sess_2/attach", contract.EndpointLiveSession},
		{"/v1/realtime?call_id=rtc_404", 0},
		{"/v1/realtime?callid=rtc_1", 0},
		{"/v1/other?call_id=rtc_1", 0},
		{"/v1/realtime/calls/rtc_1/attach", 0},
		{"/v1/live/sessions/sess_404/attach", 0},
		// An id of the other kind names no session of the kind the path
		// attaches to.
		{"/v1/realtime?call_id=sess_2", 0},
		{"/v1/live/sessions/rtc_1/attach", 0},
		// The provider scope must be the provider that created the session,
		// as on a hang-up.
		{"/openai/v1/live/sessions/sess_2/attach", contract.EndpointLiveSession},
		{"/azure/v1/realtime?call_id=rtc_1", 0},
		{"/azure/v1/live/sessions/sess_2/attach", 0},
	}
	for _, tc := range tests {
		redeemed = nil
		w := do(t, h, http.MethodGet, tc.path, "", "Authorization", "Bearer sk-provider")
		require.Equal(t, nextStatus, w.Code, tc.path)
		rec, ok := realtimesecret.FromContext(next.last(t).Context())
		if tc.endpoint == 0 {
			assert.False(t, ok, tc.path)
			continue
		}
		require.True(t, ok, tc.path)
		assert.Equal(t, tc.endpoint, rec.Endpoint, tc.path)
		assert.Equal(t, "web", rec.VirtualKeyID, tc.path)
		require.Len(t, redeemed, 1, tc.path)
		assert.True(t, redeemed[0].Found)
	}
}
