package realtimesecret_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// brokerProvider is a fakeProvider that also brokers sessions the way
// OpenAI answers them, and records every session request.
type brokerProvider struct {
	*fakeProvider
	mu       sync.Mutex
	sessions []contract.SessionRequest
	n        int
	// sessionReply, when set, answers instead of the default.
	sessionReply func(req *contract.SessionRequest) (*contract.Reply, error)
}

var _ contract.SessionBroker = (*brokerProvider)(nil)

func newBrokerProvider() *brokerProvider { return &brokerProvider{fakeProvider: newFakeProvider()} }

// testAnswer is the SDP answer the fake gives every call.
const testAnswer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// testOffer is a minimal offer the middleware accepts.
const testOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"

func (b *brokerProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	b.mu.Lock()
	cp := *req
	cp.Body = bytes.Clone(req.Body)
	cp.Header = req.Header.Clone()
	b.sessions = append(b.sessions, cp)
	b.n++
	n := b.n
	b.mu.Unlock()
	if b.sessionReply != nil {
		return b.sessionReply(req)
	}
	h := http.Header{}
	h.Set("X-Request-Id", "req_session")
	h.Set("Set-Cookie", "upstream=1")
	switch req.Endpoint {
	case contract.EndpointCall:
		h.Set("Content-Type", "application/sdp")
		h.Set("Location", "/v1/realtime/calls/rtc_"+strconv.Itoa(n))
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(testAnswer)}, nil
	case contract.EndpointLiveSession:
		h.Set("Content-Type", "application/json")
		body := `{"session":{"id":"sess_` + strconv.Itoa(n) + `","model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"` + "v=0\\r\\n" + `"}}`
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(body)}, nil
	default:
		return &contract.Reply{StatusCode: http.StatusOK, Header: h, Body: []byte(`{}`)}, nil
	}
}

func (b *brokerProvider) sessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sessions)
}

func (b *brokerProvider) lastSession(t *testing.T) contract.SessionRequest {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(t, b.sessions, "no session request reached the upstream")
	return b.sessions[len(b.sessions)-1]
}

// part is one part of a multipart body, in order.
type part struct{ name, contentType, body string }

// multipartBody returns a multipart/form-data body of parts and its
// Content-Type.
func multipartBody(t *testing.T, parts ...part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + p.name + `"`}
		if p.contentType != "" {
			h["Content-Type"] = []string{p.contentType}
		}
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.String(), mw.FormDataContentType()
}

// readParts parses a multipart body as the upstream would, by part name.
func readParts(t *testing.T, contentType string, body []byte) (names []string, parts map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	parts = map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return names, parts
		}
		require.NoError(t, err)
		data, err := io.ReadAll(p)
		require.NoError(t, err)
		names = append(names, p.FormName())
		parts[p.FormName()] = string(data)
	}
}

// call posts a multipart call with the session JSON (none when "").
func call(t *testing.T, h http.Handler, path, session string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	parts := []part{{name: "sdp", contentType: "application/sdp", body: testOffer}}
	if session != "" {
		parts = append(parts, part{name: "session", contentType: "application/json", body: session})
	}
	body, ct := multipartBody(t, parts...)
	return do(t, h, http.MethodPost, path, body, append([]string{"Content-Type", ct, "Authorization", "Bearer " + vkWeb}, header...)...)
}
