package redisstore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// otherVK is a second virtual key, with no limits, for the governance
// tests.
const (
	otherVKID    = "other"
	otherVKValue = "vk-redisstore-test-0002"
)

// liveBody creates a GPT-Live session.
const liveBody = `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`

// brokerUpstream is an in-process provider that brokers GPT-Live
// sessions the way the upstream answers them, shared by every node of a
// test as one upstream is, and records the hang-ups it receives.
type brokerUpstream struct {
	mu      sync.Mutex
	n       int
	created map[string]time.Time // session id -> when created
	hangups map[string][]time.Time
}

var (
	_ contract.Provider      = (*brokerUpstream)(nil)
	_ contract.SessionBroker = (*brokerUpstream)(nil)
)

func newBrokerUpstream() *brokerUpstream {
	return &brokerUpstream{created: map[string]time.Time{}, hangups: map[string][]time.Time{}}
}

// sessionCount returns how many sessions were created.
func (b *brokerUpstream) sessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.created)
}

// Mint answers a GA client secret mint.
func (b *brokerUpstream) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req.Endpoint != contract.EndpointClientSecret {
		return nil, contract.ErrUpstreamBadResponse
	}
	b.mu.Lock()
	b.n++
	token := "ek_governance_" + strconv.Itoa(b.n)
	b.mu.Unlock()
	body := `{"value":"` + token + `","expires_at":` + strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10) +
		`,"session":{"type":"realtime"}}`
	return &contract.Reply{StatusCode: http.StatusOK,
		Header: http.Header{"Content-Type": []string{"application/json"}}, Body: []byte(body)}, nil
}

func (b *brokerUpstream) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	if req.Key == nil || req.Key.Value != upstreamKey {
		return &contract.Reply{StatusCode: http.StatusUnauthorized, Body: []byte(`{}`)}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h := http.Header{"Content-Type": []string{"application/json"}}
	switch req.Endpoint {
	case contract.EndpointLiveSession:
		b.n++
		id := "sess_" + strconv.Itoa(b.n)
		b.created[id] = time.Now()
		body := `{"session":{"id":"` + id + `","model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(body)}, nil
	case contract.EndpointLiveSessionHangup:
		if _, ok := b.created[req.SessionID]; !ok {
			return &contract.Reply{StatusCode: http.StatusNotFound, Header: h, Body: []byte(`{}`)}, nil
		}
		b.hangups[req.SessionID] = append(b.hangups[req.SessionID], time.Now())
		return &contract.Reply{StatusCode: http.StatusOK, Header: h, Body: []byte(`{}`)}, nil
	default:
		return &contract.Reply{StatusCode: http.StatusNotFound, Header: h, Body: []byte(`{}`)}, nil
	}
}

// hangupCounts returns how many hang-ups each session received.
func (b *brokerUpstream) hangupCounts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	counts := make(map[string]int, len(b.hangups))
	for id, at := range b.hangups {
		counts[id] = len(at)
	}
	return counts
}

// hungUpAfter returns how long after its creation session id was first
// hung up.
func (b *brokerUpstream) hungUpAfter(id string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hangups[id][0].Sub(b.created[id])
}

// verifyNoLeaks fails the test if a goroutine it started is still running
// once its cleanups (the Handlers' Close, the clients') have run: call it
// first, so that its cleanup runs last.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// governedNodes returns n Handlers brokering at up for the virtual keys
// vkValue (with the limits of web) and otherVKValue, each with a Redis
// client and Store of its own on one shared prefix, as the nodes of a
// deployment run them. Each is closed when the test ends.
func governedNodes(t *testing.T, up *brokerUpstream, n int, web realtimesecret.VirtualKey) []*realtimesecret.Handler {
	t.Helper()
	first := redistest.Client(t)
	prefix := redistest.Prefix(t, first)
	nodes := make([]*realtimesecret.Handler, n)
	for i := range nodes {
		c := first
		if i > 0 {
			c = redistest.Client(t)
		}
		nodes[i] = governedNode(t, up, redisstore.New(c, redisstore.Options{Prefix: prefix, Timeout: testTimeout}), web, true)
	}
	return nodes
}

// governedNode returns a Handler brokering at up, with store as its Store
// and so its SessionRegistry, for the virtual keys vkValue (with the
// limits of web) and otherVKValue. failOpen admits sessions uncounted
// while the registry is down (and stores records best effort); otherwise
// the node refuses them. It is closed when the test ends.
func governedNode(t *testing.T, up *brokerUpstream, store *redisstore.Store, web realtimesecret.VirtualKey, failOpen bool) *realtimesecret.Handler {
	t.Helper()
	web.ID, web.Value = vkID, vkValue
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: up,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: upstreamKey}},
		}},
		VirtualKeys:        []realtimesecret.VirtualKey{web, {ID: otherVKID, Value: otherVKValue}},
		Store:              store,
		StrictStore:        !failOpen,
		GovernanceFailOpen: failOpen,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// createLive asks h for a GPT-Live session with the virtual key vk.
func createLive(t *testing.T, h *realtimesecret.Handler, vk string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/live/sessions", strings.NewReader(liveBody))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vk)
	w := httptest.NewRecorder()
	h.Wrap(http.NotFoundHandler()).ServeHTTP(w, r)
	return w
}

// requireLive creates a GPT-Live session on h and returns its id.
func requireLive(t *testing.T, h *realtimesecret.Handler, vk string) string {
	t.Helper()
	w := createLive(t, h, vk)
	require.Equal(t, http.StatusCreated, w.Code, "creating a session: %s", w.Body.String())
	var reply struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &reply))
	require.NotEmpty(t, reply.Session.ID)
	return reply.Session.ID
}

// hangUp hangs session id up through h with the virtual key vk.
func hangUp(t *testing.T, h *realtimesecret.Handler, vk, id string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/live/sessions/"+id+"/hangup", nil)
	r.Header.Set("Authorization", "Bearer "+vk)
	w := httptest.NewRecorder()
	h.Wrap(http.NotFoundHandler()).ServeHTTP(w, r)
	return w
}
