package openai_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// broker posts a brokered session request to the stack with its virtual
// key.
func (s *stack) broker(t *testing.T, path, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(string(body)))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+stackVK)
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// stackSessions are the two creations as a client sends them to the stack.
func stackSessions() []struct {
	name, path, contentType string
	body                    []byte
} {
	callBody, callType := fakeupstream.CallBody(fakeupstream.SampleOffer, `{"type":"realtime","model":"openai/gpt-realtime"}`)
	live := `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":` +
		strings.ReplaceAll(strings.ReplaceAll(`"`+fakeupstream.SampleOffer+`"`, "\r", `\r`), "\n", `\n`) + `}}`
	return []struct {
		name, path, contentType string
		body                    []byte
	}{
		{name: "call", path: "/v1/realtime/calls", contentType: callType, body: callBody},
		{name: "live session", path: "/v1/live/sessions", contentType: "application/json", body: []byte(live)},
	}
}

// TestSessionThroughStack brokers both kinds of session through the
// middleware, this adapter and the fake upstream, then hangs them up.
func TestSessionThroughStack(t *testing.T) {
	for _, tc := range stackSessions() {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}})
			srv := newUpstream(t, up.ServeHTTP)
			s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: srv.srv.URL}})

			resp, body := s.broker(t, tc.path, tc.contentType, tc.body)
			require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
			require.Equal(t, 1, up.SessionsCreated())
			assertNoSecret(t, "a brokered answer", string(body), stackKey)
			last, ok := up.LastRequest(tc.path)
			require.True(t, ok)
			assert.Equal(t, "Bearer "+stackKey, last.Header.Get("Authorization"))

			sessions := up.Sessions()
			require.Len(t, sessions, 1)
			resp, body = s.broker(t, tc.path+"/"+sessions[0].ID+"/hangup", "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, 0, up.ActiveSessions())
		})
	}
}

// TestSessionFaultUpstreamFails runs the fault catalogue on both creations
// through the stack: 504 for a timeout, 502 otherwise, always with
// x-should-retry: false (the session may exist upstream), and no secret in
// the answer or a log line.
func TestSessionFaultUpstreamFails(t *testing.T) {
	for _, tc := range stackSessions() {
		for _, f := range faultupstream.Faults {
			t.Run(tc.name+"/"+f.Name, func(t *testing.T) {
				verifyNoLeaks(t)
				status := http.StatusBadGateway
				if errors.Is(f.Want, contract.ErrUpstreamTimeout) {
					status = http.StatusGatewayTimeout
				}
				s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: f.Start(t), Timeout: f.Timeout}})

				resp, body := s.broker(t, tc.path, tc.contentType, tc.body)

				requireError(t, resp, body, status)
				assert.Equal(t, "false", resp.Header.Get("X-Should-Retry"))
				assert.NotContains(t, string(body), faultupstream.PartialSecret)
			})
		}
	}
}
