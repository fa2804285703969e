package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/live"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// Upstream paths of the brokered session endpoints.
const (
	upstreamCallsPath = "/v1/realtime/calls"
	upstreamLivePath  = "/v1/live/sessions"
)

// sampleOffer is a WebRTC SDP offer as Chrome makes it for a Realtime voice
// session: one audio transceiver and one data channel, bundled, a loopback
// host candidate. The SDKs send it where a browser's offer would go.
const sampleOffer = fakeupstream.SampleOffer

// sdkCall is what Realtime.Calls.New returned: the SDK hands the
// *http.Response to the application, which reads the answer and Location.
type sdkCall struct {
	Status      int
	ContentType string
	Location    string
	Answer      string
}

// createCall creates a WebRTC call with the Go SDK. model "" sends no
// session part.
func createCall(ctx context.Context, c openai.Client, model string, opts ...option.RequestOption) (sdkCall, error) {
	params := realtime.CallNewParams{Sdp: sampleOffer}
	if model != "" {
		params.Session = realtime.RealtimeSessionCreateRequestParam{
			Model:        realtime.RealtimeSessionCreateRequestModel(model),
			Instructions: openai.String("You are a friendly assistant."),
		}
	}
	res, err := c.Realtime.Calls.New(ctx, params, opts...)
	if err != nil {
		return sdkCall{}, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return sdkCall{}, err
	}
	return sdkCall{
		Status:      res.StatusCode,
		ContentType: res.Header.Get("Content-Type"),
		Location:    res.Header.Get("Location"),
		Answer:      string(answer),
	}, nil
}

// createLive creates a GPT-Live session with the Go SDK.
func createLive(ctx context.Context, c openai.Client, model string, opts ...option.RequestOption) (*live.LiveNewResponse, error) {
	return c.Live.New(ctx, live.LiveNewParams{
		Session: live.MediaSessionConfigParam{
			Model:        live.MediaSessionConfigModel(model),
			Instructions: openai.String("You are a friendly assistant."),
		},
		Transport: live.LiveNewParamsTransport{Sdp: sampleOffer},
	}, opts...)
}

// TestGoSDKCallsThroughMiddleware creates WebRTC calls with the official Go
// SDK on /v1 (provider/model) and on the provider-scoped base URL, reads
// the SDP answer and the Location the application needs, checks what the
// fake upstream received and what the middleware recorded, and hangs the
// call up with the SDK.
func TestGoSDKCallsThroughMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		base  string
		model string
	}{
		{name: "provider/model on /v1", base: "/v1", model: "openai/gpt-realtime"},
		{name: "provider-scoped", base: "/openai/v1", model: "gpt-realtime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			client := sdkClient(st.URL+tc.base, vkWeb)

			call, err := createCall(t.Context(), client, tc.model)
			requireNoAPIError(t, err)

			assert.Equal(t, http.StatusCreated, call.Status)
			assert.Equal(t, "application/sdp", call.ContentType)
			assert.True(t, strings.HasPrefix(call.Answer, "v=0\r\n"), "the body is an SDP answer: %q", call.Answer)
			// Location names this server's path for the call, in the scope
			// the client used, so the SDK's own methods reach it.
			loc := regexp.MustCompile(`^` + regexp.QuoteMeta(tc.base) + `/realtime/calls/(rtc_[A-Za-z0-9_-]+)$`).
				FindStringSubmatch(call.Location)
			require.NotNil(t, loc, "Location %q", call.Location)
			callID := loc[1]

			require.Equal(t, 1, st.Upstream.Count(), "one upstream request per call")
			req, ok := st.Upstream.Last()
			require.True(t, ok)
			assert.Equal(t, http.MethodPost, req.Method)
			assert.Equal(t, upstreamCallsPath, req.Path)
			assert.Equal(t, "Bearer "+upstreamKeyRealtime, req.Header.Get("Authorization"), "the real key, chosen for the model")
			assert.Empty(t, req.Header.Values("X-Virtual-Key"))
			assert.NotContains(t, string(req.Body), vkWeb, "the virtual key never leaves the process")
			parts := multipartParts(t, req.Header.Get("Content-Type"), req.Body)
			assert.Equal(t, []string{"sdp", "session"}, sortedKeys(parts))
			assert.Equal(t, sampleOffer, parts["sdp"], "the offer byte for byte")
			assert.Equal(t, "gpt-realtime", jsonString(t, []byte(parts["session"]), "model"), "the bare model")
			assert.Equal(t, "You are a friendly assistant.", jsonString(t, []byte(parts["session"]), "instructions"))
			assert.Equal(t, "realtime", jsonString(t, []byte(parts["session"]), "type"))

			rec, found, err := st.Handler.LookupSession(t.Context(), callID)
			require.NoError(t, err)
			require.True(t, found, "the call is recorded for attribution and hang-up")
			assert.Equal(t, "realtime", rec.KeyID)
			assert.Equal(t, "web", rec.VirtualKeyID)
			assert.Equal(t, "openai", rec.Provider)
			assert.Equal(t, "gpt-realtime", rec.Model)

			sess, ok := st.Upstream.Session(callID)
			require.True(t, ok, "the Location names the call the upstream created")
			assert.Equal(t, fakeupstream.SessionCall, sess.Kind)
			assert.Equal(t, "gpt-realtime", sess.Model)
			assert.Equal(t, 1, st.Upstream.SessionsCreated())

			requireNoAPIError(t, client.Realtime.Calls.Hangup(t.Context(), callID))
			require.Equal(t, 2, st.Upstream.Count())
			req, _ = st.Upstream.Last()
			assert.Equal(t, http.MethodPost, req.Method)
			assert.Equal(t, upstreamCallsPath+"/"+callID+"/hangup", req.Path)
			assert.Equal(t, "Bearer "+upstreamKeyRealtime, req.Header.Get("Authorization"), "the key that created the call")
			sess, _ = st.Upstream.Session(callID)
			assert.False(t, sess.Active(), "the upstream ended the call")
		})
	}
}

// TestGoSDKLiveThroughMiddleware creates a GPT-Live session with the Go SDK
// on /v1 with "provider/model" and hangs it up.
func TestGoSDKLiveThroughMiddleware(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	client := sdkClient(st.URL+"/v1", vkWeb)

	res, err := createLive(t.Context(), client, "openai/gpt-live-1")
	requireNoAPIError(t, err)
	sessionID := res.Session.ID
	require.NotEmpty(t, sessionID, "the SDK reads session.id")
	assert.True(t, strings.HasPrefix(res.Transport.Sdp, "v=0\r\n"), "transport.sdp is an SDP answer: %q", res.Transport.Sdp)
	assert.Equal(t, "webrtc", string(res.Transport.Type))

	require.Equal(t, 1, st.Upstream.Count())
	req, ok := st.Upstream.Last()
	require.True(t, ok)
	assert.Equal(t, upstreamLivePath, req.Path)
	assert.Equal(t, "Bearer "+upstreamKeyLive, req.Header.Get("Authorization"), "the real key, chosen for the model")
	assert.Empty(t, req.Header.Values("X-Virtual-Key"))
	assert.NotContains(t, string(req.Body), vkWeb)
	assert.Equal(t, "gpt-live-1", jsonString(t, req.Body, "session.model"), "the bare model")
	assert.Equal(t, "webrtc", jsonString(t, req.Body, "transport.type"))
	assert.Equal(t, sampleOffer, jsonString(t, req.Body, "transport.sdp"), "the offer as the SDK sent it")
	var sent struct {
		Session   map[string]json.RawMessage `json:"session"`
		Transport map[string]json.RawMessage `json:"transport"`
	}
	require.NoError(t, json.Unmarshal(req.Body, &sent))
	assert.ElementsMatch(t, []string{"model", "instructions"}, sortedKeys(sent.Session), "GPT-Live is strict: no field added")
	assert.ElementsMatch(t, []string{"type", "sdp"}, sortedKeys(sent.Transport))

	rec, found, err := st.Handler.LookupSession(t.Context(), sessionID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "live", rec.KeyID)
	assert.Equal(t, "web", rec.VirtualKeyID)
	assert.Equal(t, "gpt-live-1", rec.Model)

	sess, ok := st.Upstream.Session(sessionID)
	require.True(t, ok, "session.id names the session the upstream created")
	assert.Equal(t, fakeupstream.SessionLive, sess.Kind)
	assert.Equal(t, "gpt-live-1", sess.Model)

	// A WebRTC GPT-Live session is ended as OpenAI documents: session.close
	// on an attach (the hang-up endpoint is for SIP sessions).
	requireNoAPIError(t, client.Live.Sessions.Hangup(t.Context(), sessionID))
	require.Equal(t, 2, st.Upstream.Count())
	req, _ = st.Upstream.Last()
	assert.Equal(t, upstreamLivePath+"/"+sessionID+"/attach", req.Path)
	assert.Equal(t, "Bearer "+upstreamKeyLive, req.Header.Get("Authorization"), "the key that created the session")
	assert.Equal(t, 1, st.Upstream.SidebandStats().SessionCloses)
	assert.Zero(t, st.Upstream.SessionStats().Hangups, "not the hang-up endpoint")
	sess, _ = st.Upstream.Session(sessionID)
	assert.False(t, sess.Active(), "the upstream ended the session")
}

// TestGoSDKSessionErrors checks that the refusals of the brokered
// endpoints reach the Go SDK as *openai.Error with the status and code the
// middleware wrote, and that nothing refused was sent upstream.
func TestGoSDKSessionErrors(t *testing.T) {
	t.Parallel()
	// A session the "web" principal created, for the hang-up cases.
	callOfWeb := func(t *testing.T, st *stack) string {
		call, err := createCall(t.Context(), sdkClient(st.URL+"/v1", vkWeb), "openai/gpt-realtime")
		requireNoAPIError(t, err)
		return call.Location[strings.LastIndexByte(call.Location, '/')+1:]
	}
	liveOfWeb := func(t *testing.T, st *stack) string {
		res, err := createLive(t.Context(), sdkClient(st.URL+"/v1", vkWeb), "openai/gpt-live-1")
		requireNoAPIError(t, err)
		return res.Session.ID
	}
	tests := []struct {
		name         string
		apiKey       string
		do           func(t *testing.T, st *stack, c openai.Client) error
		wantStatus   int
		wantType     string
		wantCode     string
		wantUpstream int // upstream requests, those of the setup included
	}{
		{
			name: "401 call with an unknown virtual key", apiKey: vkUnknown,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := createCall(t.Context(), c, "openai/gpt-realtime")
				return err
			},
			wantStatus: http.StatusUnauthorized, wantType: "authentication_error", wantCode: "invalid_api_key",
		},
		{
			name: "401 Live with an unknown virtual key", apiKey: vkUnknown,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := createLive(t.Context(), c, "openai/gpt-live-1")
				return err
			},
			wantStatus: http.StatusUnauthorized, wantType: "authentication_error", wantCode: "invalid_api_key",
		},
		{
			name: "403 call with a model the virtual key may not use", apiKey: vkNarrow,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := createCall(t.Context(), c, "openai/gpt-realtime-mini")
				return err
			},
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "model_not_allowed",
		},
		{
			name: "403 Live with a model the virtual key may not use", apiKey: vkNarrow,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := createLive(t.Context(), c, "openai/gpt-live-1")
				return err
			},
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "model_not_allowed",
		},
		{
			name: "403 hang-up of another principal's call", apiKey: vkOther,
			do: func(t *testing.T, st *stack, c openai.Client) error {
				return c.Realtime.Calls.Hangup(t.Context(), callOfWeb(t, st))
			},
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "session_not_owned",
			wantUpstream: 1,
		},
		{
			name: "403 hang-up of another principal's Live session", apiKey: vkOther,
			do: func(t *testing.T, st *stack, c openai.Client) error {
				return c.Live.Sessions.Hangup(t.Context(), liveOfWeb(t, st))
			},
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "session_not_owned",
			wantUpstream: 1,
		},
		{
			name: "404 hang-up of an unknown call", apiKey: vkWeb,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				return c.Realtime.Calls.Hangup(t.Context(), "rtc_e2e_unknown")
			},
			wantStatus: http.StatusNotFound, wantType: "invalid_request_error", wantCode: "session_not_found",
		},
		{
			name: "429 call over the virtual key's rate", apiKey: vkRate,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := createCall(t.Context(), c, "openai/gpt-realtime")
				requireNoAPIError(t, err, "the first call fits the rate")
				_, err = createCall(t.Context(), c, "openai/gpt-realtime")
				return err
			},
			wantStatus: http.StatusTooManyRequests, wantType: "rate_limit_error", wantCode: "rate_limit_exceeded",
			wantUpstream: 1,
		},
		{
			name: "429 Live over the virtual key's rate, shared with mints", apiKey: vkRate,
			do: func(t *testing.T, _ *stack, c openai.Client) error {
				_, err := mintRealtime(t.Context(), c, "openai/gpt-realtime")
				requireNoAPIError(t, err, "the mint fits the rate")
				_, err = createLive(t.Context(), c, "openai/gpt-live-1")
				return err
			},
			wantStatus: http.StatusTooManyRequests, wantType: "rate_limit_error", wantCode: "rate_limit_exceeded",
			wantUpstream: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			// One answer per request: the SDK would retry a 429.
			client := sdkClient(st.URL+"/v1", tc.apiKey, option.WithMaxRetries(0))

			err := tc.do(t, st, client)

			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.wantStatus, apiErr.StatusCode, apiErr.RawJSON())
			assert.Equal(t, tc.wantType, apiErr.Type)
			assert.Equal(t, tc.wantCode, apiErr.Code)
			assert.NotEmpty(t, apiErr.Message)
			assert.Equal(t, tc.wantUpstream, st.Upstream.Count(), "nothing refused reaches the upstream")
			for _, secret := range []string{tc.apiKey, vkWeb, upstreamKeyRealtime, upstreamKeyLive} {
				assert.NotContains(t, apiErr.RawJSON(), secret)
			}
			if tc.wantStatus == http.StatusTooManyRequests {
				secs, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After is whole seconds")
				assert.Positive(t, secs)
			}
		})
	}
}

// TestGoSDKSessionTimeoutNotRetried runs the SDK with its default retries
// against an upstream that creates the session and then never answers. The
// middleware gives up after the adapter's timeout with 504 and
// x-should-retry: false, and the SDK, which would retry a 504, does not:
// the upstream created exactly one (paid) session.
func TestGoSDKSessionTimeoutNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string // upstream path of the creation
		create func(ctx context.Context, c openai.Client) error
	}{
		{
			name: "call", path: upstreamCallsPath,
			create: func(ctx context.Context, c openai.Client) error {
				_, err := createCall(ctx, c, "openai/gpt-realtime")
				return err
			},
		},
		{
			name: "Live", path: upstreamLivePath,
			create: func(ctx context.Context, c openai.Client) error {
				_, err := createLive(ctx, c, "openai/gpt-live-1")
				return err
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStackWith(t, stackOptions{
				adapterTimeout: 300 * time.Millisecond,
				// The fake creates and counts the session, then holds its
				// answer past the adapter's timeout.
				fake: func(o *fakeupstream.Options) { o.CreateDelay = 10 * time.Second },
			})
			// The SDK's defaults (2 retries on 5xx), as an application has them.
			client := openai.NewClient(option.WithBaseURL(st.URL+"/v1"), option.WithAPIKey(vkWeb),
				option.WithRequestTimeout(20*time.Second))

			start := time.Now()
			err := tc.create(t.Context(), client)

			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusGatewayTimeout, apiErr.StatusCode, apiErr.RawJSON())
			assert.Equal(t, "upstream_timeout", apiErr.Code)
			assert.Equal(t, "false", apiErr.Response.Header.Get("X-Should-Retry"))
			assert.Less(t, time.Since(start), 5*time.Second, "no retry, no backoff")

			assert.Equal(t, 1, st.Upstream.SessionsCreated(), "exactly one session created upstream")
			assert.Equal(t, 1, requestsTo(st.Upstream, tc.path), "the SDK did not retry into a second session")
		})
	}
}

// requestsTo counts the requests the fake upstream received on path.
func requestsTo(up *fakeupstream.Server, path string) int {
	n := 0
	for _, r := range up.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// multipartParts reads a multipart/form-data body into its parts by name.
func multipartParts(t *testing.T, contentType string, body []byte) map[string]string {
	t.Helper()
	parts, err := readParts(contentType, body)
	require.NoError(t, err)
	return parts
}

// readParts reads a multipart/form-data body into its parts by name, as
// sent (no transfer decoding); a repeated name is an error.
func readParts(contentType string, body []byte) (map[string]string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, err
	}
	if mt != "multipart/form-data" {
		return nil, fmt.Errorf("content type %q, want multipart/form-data", mt)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	out := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		if _, dup := out[p.FormName()]; dup {
			return nil, fmt.Errorf("part %q repeated", p.FormName())
		}
		out[p.FormName()] = string(data)
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
