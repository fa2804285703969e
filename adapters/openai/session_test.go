package openai_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	sdpAnswer   = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	liveBody    = `{"session":{"model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
	liveReply   = `{"session":{"id":"sess_1"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
	callSession = `{"type":"realtime","model":"gpt-realtime"}`
)

// sessionCase is one brokered request and the reply a real upstream gives.
type sessionCase struct {
	name        string
	req         contract.SessionRequest
	wantPath    string
	status      int
	replyType   string
	reply       string
	replyHeader http.Header
}

// sessionCases covers the four session endpoints; the key is set by the
// test.
func sessionCases() []sessionCase {
	callBody, callType := fakeupstream.CallBody(fakeupstream.SampleOffer, callSession)
	return []sessionCase{
		{name: "call", wantPath: "/v1/realtime/calls", status: http.StatusCreated,
			req:       contract.SessionRequest{Endpoint: contract.EndpointCall, ContentType: callType, Body: callBody},
			replyType: "application/sdp", reply: sdpAnswer,
			replyHeader: http.Header{"Location": {"/v1/realtime/calls/rtc_1"}}},
		{name: "live session", wantPath: "/v1/live/sessions", status: http.StatusCreated,
			req:       contract.SessionRequest{Endpoint: contract.EndpointLiveSession, ContentType: "application/json", Body: []byte(liveBody)},
			replyType: "application/json", reply: liveReply},
		{name: "call hang-up", wantPath: "/v1/realtime/calls/rtc_1/hangup", status: http.StatusOK,
			req: contract.SessionRequest{Endpoint: contract.EndpointCallHangup, SessionID: "rtc_1"}},
		{name: "live hang-up, id escaped", wantPath: "/v1/live/sessions/sess%2F1/hangup", status: http.StatusOK,
			req: contract.SessionRequest{Endpoint: contract.EndpointLiveSessionHangup, SessionID: "sess/1"}},
	}
}

// sessionRecorder answers every request with tc's reply and reports what it
// received.
func sessionRecorder(t *testing.T, tc sessionCase) (*httptest.Server, <-chan captured) {
	t.Helper()
	seen := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		seen <- captured{r.Method, r.URL.EscapedPath(), r.Header.Clone(), b, r.ContentLength}
		for k, v := range tc.replyHeader {
			w.Header()[k] = v
		}
		if tc.replyType != "" {
			w.Header().Set("Content-Type", tc.replyType)
		}
		w.WriteHeader(tc.status)
		_, _ = io.WriteString(w, tc.reply)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestSessionEndpoints(t *testing.T) {
	require.Len(t, sessionCases(), len(contract.SessionEndpoints()))
	for _, tc := range sessionCases() {
		for _, base := range []string{"", "/v1"} { // a final /v1 in BaseURL is ignored
			t.Run(tc.name+"/base"+base, func(t *testing.T) {
				srv, seen := sessionRecorder(t, tc)
				p := newProvider(t, openai.Config{BaseURL: srv.URL + base})
				req := tc.req
				req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
				req.Header = http.Header{"X-Request-Id": {"abc"}, "Authorization": {"Bearer vk-caller"}}

				resp, err := p.Session(context.Background(), &req)
				require.NoError(t, err)
				got := <-seen

				assert.Equal(t, http.MethodPost, got.method)
				assert.Equal(t, tc.wantPath, got.path)
				assert.Equal(t, []string{"Bearer " + testKey}, got.header.Values("Authorization"))
				assert.Equal(t, []string{"*/*"}, got.header.Values("Accept"))
				assert.Equal(t, "abc", got.header.Get("X-Request-Id"))
				assert.Equal(t, string(req.Body), string(got.body), "body byte for byte")
				assert.Equal(t, int64(len(req.Body)), got.length)
				if req.ContentType == "" {
					assert.Empty(t, got.header.Values("Content-Type"))
					assert.Equal(t, []string{"0"}, got.header.Values("Content-Length"))
				} else {
					assert.Equal(t, []string{req.ContentType}, got.header.Values("Content-Type"))
				}

				assert.Equal(t, tc.status, resp.StatusCode)
				assert.Equal(t, tc.reply, string(resp.Body), "reply byte for byte")
				assert.Equal(t, tc.replyType, resp.Header.Get("Content-Type"))
				assert.Equal(t, tc.replyHeader.Get("Location"), resp.Header.Get("Location"))
			})
		}
	}
}

func TestSessionRejects(t *testing.T) {
	p := newProvider(t, openai.Config{BaseURL: "http://127.0.0.1:1"})
	key := &realtimesecret.Key{ID: "k1", Value: testKey}
	for _, tc := range []struct {
		name string
		req  *contract.SessionRequest
	}{
		{name: "nil request"},
		{name: "no key", req: &contract.SessionRequest{Endpoint: contract.EndpointCall}},
		{name: "hang-up without id", req: &contract.SessionRequest{Endpoint: contract.EndpointCallHangup, Key: key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := p.Session(context.Background(), tc.req)
			assert.Nil(t, resp)
			require.Error(t, err)
			assert.NotErrorIs(t, err, contract.ErrUpstreamUnavailable, "nothing was sent")
		})
	}
	_, err := p.Session(context.Background(), &contract.SessionRequest{Endpoint: contract.EndpointClientSecret, Key: key})
	var apiErr *realtimesecret.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.Status)
}

// TestSessionFaults runs the fault catalogue, as TestFaults does for Mint,
// against both session creations.
func TestSessionFaults(t *testing.T) {
	for _, tc := range sessionCases()[:2] {
		for _, f := range faultupstream.Faults {
			t.Run(tc.name+"/"+f.Name, func(t *testing.T) {
				p := newProvider(t, openai.Config{BaseURL: f.Start(t), Timeout: f.Timeout})
				req := tc.req
				req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
				resp, err := p.Session(context.Background(), &req)
				assert.Nil(t, resp)
				f.Check(t, err, testKey)
			})
		}
	}
}

// An upstream, or a vendor in front of it, that echoes the key in an SDP
// or error body never gets it to the client.
func TestSessionEchoedKeyRedacted(t *testing.T) {
	tc := sessionCases()[0]
	tc.reply = "v=0\r\ns=" + testKey + "\r\n"
	srv, _ := sessionRecorder(t, tc)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	req := tc.req
	req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
	resp, err := p.Session(context.Background(), &req)
	require.NoError(t, err)
	assert.NotContains(t, string(resp.Body), testKey)
	assert.Contains(t, string(resp.Body), "[REDACTED]")
}

func TestSessionReplyTooLarge(t *testing.T) {
	url := faultupstream.Answer(t, faultupstream.Reply{Header: http.Header{"Content-Type": {"application/sdp"}}, Body: []byte(sdpAnswer + sdpAnswer)})
	p := newProvider(t, openai.Config{BaseURL: url, MaxResponseBytes: int64(len(sdpAnswer))})
	req := sessionCases()[0].req
	req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
	_, err := p.Session(context.Background(), &req)
	requireErr(t, err, contract.ErrUpstreamBadResponse)
}
