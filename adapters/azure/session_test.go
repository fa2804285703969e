package azure_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	sdpAnswer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	liveBody  = `{"session":{"model":"my-live-deployment"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
	liveReply = `{"session":{"id":"sess_1"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`
)

// sessionCase is one brokered request and the reply Azure gives.
type sessionCase struct {
	name      string
	req       contract.SessionRequest
	wantPath  string
	status    int
	replyType string
	reply     string
	location  string
}

// sessionCases covers the four session endpoints; the key is set by the
// test.
func sessionCases() []sessionCase {
	callBody, callType := fakeupstream.CallBody(fakeupstream.SampleOffer, `{"type":"realtime","model":"`+testDeployment+`"}`)
	return []sessionCase{
		{name: "call", wantPath: "/openai/v1/realtime/calls", status: http.StatusCreated,
			req:       contract.SessionRequest{Endpoint: contract.EndpointCall, ContentType: callType, Body: callBody},
			replyType: "application/sdp", reply: sdpAnswer, location: "/v1/realtime/calls/rtc_1"},
		{name: "live session", wantPath: "/openai/v1/live/sessions", status: http.StatusCreated,
			req:       contract.SessionRequest{Endpoint: contract.EndpointLiveSession, ContentType: "application/json", Body: []byte(liveBody)},
			replyType: "application/json", reply: liveReply},
		{name: "call hang-up", wantPath: "/openai/v1/realtime/calls/rtc_1/hangup", status: http.StatusOK,
			req: contract.SessionRequest{Endpoint: contract.EndpointCallHangup, SessionID: "rtc_1"}},
		{name: "live hang-up", wantPath: "/openai/v1/live/sessions/sess_1/hangup", status: http.StatusOK,
			req: contract.SessionRequest{Endpoint: contract.EndpointLiveSessionHangup, SessionID: "sess_1"}},
	}
}

// sessionSeen is what the session recorder received.
type sessionSeen struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
	length                 int64
}

func sessionRecorder(t *testing.T, tc sessionCase) (*httptest.Server, <-chan sessionSeen) {
	t.Helper()
	seen := make(chan sessionSeen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		seen <- sessionSeen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b, r.ContentLength}
		if tc.location != "" {
			w.Header().Set("Location", tc.location)
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
	token := func(context.Context) (string, error) { return testToken, nil }
	for _, auth := range []struct {
		name       string
		cfg        azure.Config
		apiKey     string
		authHeader string
	}{
		{name: "api-key", apiKey: testKey},
		{name: "bearer key", cfg: azure.Config{Auth: azure.AuthBearer}, authHeader: "Bearer " + testKey},
		{name: "token source", cfg: azure.Config{TokenSource: token}, authHeader: "Bearer " + testToken},
	} {
		for _, tc := range sessionCases() {
			t.Run(auth.name+"/"+tc.name, func(t *testing.T) {
				srv, seen := sessionRecorder(t, tc)
				cfg := auth.cfg
				cfg.Endpoint = srv.URL + "/openai/v1/" // the SDK form of the endpoint
				cfg.APIVersion = testAPIVersion        // only ever for the legacy preview path
				p := newProvider(t, cfg)
				req := tc.req
				req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
				req.Header = http.Header{"X-Request-Id": {"abc"}, "Api-Key": {"caller"}}

				resp, err := p.Session(context.Background(), &req)
				require.NoError(t, err)
				got := <-seen

				assert.Equal(t, http.MethodPost, got.method)
				assert.Equal(t, tc.wantPath, got.path)
				assert.Empty(t, got.rawQuery, "no api-version on the v1 API")
				assert.Equal(t, auth.apiKey, got.header.Get("Api-Key"))
				assert.Equal(t, auth.authHeader, got.header.Get("Authorization"))
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
				assert.Equal(t, tc.location, resp.Header.Get("Location"))
			})
		}
	}
}

// Azure's error bodies become OpenAI's shape, as for Mint.
func TestSessionErrorMapped(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		azureErr(w, http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist.")
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	req := sessionCases()[1].req
	req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
	resp, err := p.Session(context.Background(), &req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &e), "%s", resp.Body)
	assert.Equal(t, "DeploymentNotFound", e.Error.Code)
	assert.NotEmpty(t, e.Error.Message)
}

func TestSessionRejects(t *testing.T) {
	p := newProvider(t, azure.Config{Endpoint: "http://127.0.0.1:1"})
	key := &realtimesecret.Key{ID: "k1", Value: testKey}
	for _, req := range []*contract.SessionRequest{
		nil,
		{Endpoint: contract.EndpointCall},
		{Endpoint: contract.EndpointLiveSessionHangup, Key: key},
	} {
		resp, err := p.Session(context.Background(), req)
		assert.Nil(t, resp)
		require.Error(t, err)
		assert.NotErrorIs(t, err, contract.ErrUpstreamUnavailable, "nothing was sent")
	}
	_, err := p.Session(context.Background(), &contract.SessionRequest{Endpoint: contract.EndpointSession, Key: key})
	var apiErr *realtimesecret.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, azure.CodeUnsupportedEndpoint, apiErr.Code)
}

// TestSessionFaults runs the fault catalogue, as TestFaults does for Mint,
// against both session creations, with either credential.
func TestSessionFaults(t *testing.T) {
	token := func(context.Context) (string, error) { return testToken, nil }
	for _, tc := range sessionCases()[:2] {
		for _, f := range faultupstream.Faults {
			for name, tokens := range map[string]func(context.Context) (string, error){"api-key": nil, "token": token} {
				t.Run(tc.name+"/"+f.Name+"/"+name, func(t *testing.T) {
					p := newProvider(t, azure.Config{Endpoint: f.Start(t), Timeout: f.Timeout, TokenSource: tokens})
					req := tc.req
					req.Key = &realtimesecret.Key{ID: "k1", Value: testKey}
					resp, err := p.Session(context.Background(), &req)
					assert.Nil(t, resp)
					f.Check(t, err, testKey, testToken)
				})
			}
		}
	}
}
