package e2e_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	vkSidecar      = "vk-e2e-sidecar"
	vkSidecarOther = "vk-e2e-sidecar-other"
)

// sessionsSidecarYAML runs the sidecar in demo mode (its built-in fake
// upstream) with the brokered routes on, as they are by default.
const sessionsSidecarYAML = `
listen: 127.0.0.1:0
demo: true
providers:
  openai:
    keys:
      - id: primary
        value: ${OPENAI_API_KEY:-}
virtual_keys:
  - id: app
    value: ${E2E_VK_SIDECAR}
    models: [gpt-realtime, gpt-live-1]
  - id: other
    value: ${E2E_VK_SIDECAR_OTHER}
`

// TestGoSDKSessionsThroughSidecar drives the realtimesecretd binary with
// the official Go SDK as an application would: its base URL is the sidecar
// and its API key a virtual key. It creates and hangs up a WebRTC call on
// both route forms and a GPT-Live session, sees the refusals as SDK
// errors, and checks that the sidecar counted them and never logged the
// virtual key.
func TestGoSDKSessionsThroughSidecar(t *testing.T) {
	t.Parallel()
	sc := startSidecar(t, buildSidecar(t), sessionsSidecarYAML,
		"E2E_VK_SIDECAR="+vkSidecar, "E2E_VK_SIDECAR_OTHER="+vkSidecarOther)

	for _, base := range []string{"/v1", "/openai/v1"} {
		client := sdkClient(sc.URL+base, vkSidecar)
		model := "gpt-realtime"
		if base == "/v1" {
			model = "openai/gpt-realtime"
		}
		call, err := createCall(t.Context(), client, model)
		requireNoAPIError(t, err)
		assert.Equal(t, http.StatusCreated, call.Status)
		assert.Equal(t, "application/sdp", call.ContentType)
		assert.True(t, strings.HasPrefix(call.Answer, "v=0\r\n"), "an SDP answer: %q", call.Answer)
		loc := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/realtime/calls/(rtc_[0-9a-f]+)$`).FindStringSubmatch(call.Location)
		require.NotNil(t, loc, "Location %q on the sidecar's path, in the client's scope", call.Location)

		if base == "/v1" {
			// Another principal may not end it; the owner may.
			other := sdkClient(sc.URL+base, vkSidecarOther)
			err := other.Realtime.Calls.Hangup(t.Context(), loc[1])
			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusForbidden, apiErr.StatusCode, apiErr.RawJSON())
		}
		requireNoAPIError(t, client.Realtime.Calls.Hangup(t.Context(), loc[1]))
	}

	client := sdkClient(sc.URL+"/v1", vkSidecar)
	res, err := createLive(t.Context(), client, "openai/gpt-live-1")
	requireNoAPIError(t, err)
	require.NotEmpty(t, res.Session.ID)
	assert.True(t, strings.HasPrefix(res.Transport.Sdp, "v=0\r\n"))
	requireNoAPIError(t, client.Live.Sessions.Hangup(t.Context(), res.Session.ID))

	noRetry := option.WithMaxRetries(0)
	for _, tc := range []struct {
		name   string
		apiKey string
		model  string
		want   int
	}{
		{name: "unknown virtual key", apiKey: vkUnknown, model: "openai/gpt-realtime", want: http.StatusUnauthorized},
		{name: "model not allowed", apiKey: vkSidecar, model: "openai/gpt-realtime-mini", want: http.StatusForbidden},
	} {
		_, err := createCall(t.Context(), sdkClient(sc.URL+"/v1", tc.apiKey, noRetry), tc.model)
		var apiErr *openai.Error
		require.ErrorAs(t, err, &apiErr, tc.name)
		assert.Equal(t, tc.want, apiErr.StatusCode, "%s: %s", tc.name, apiErr.RawJSON())
	}

	samples := []string{
		`realtimesecret_session_requests_total{endpoint="calls",provider="openai",status="201"} 2`,
		`realtimesecret_session_requests_total{endpoint="calls_hangup",provider="openai",status="200"} 2`,
		`realtimesecret_session_requests_total{endpoint="calls_hangup",provider="openai",status="403"} 1`,
		`realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="201"} 1`,
		`realtimesecret_session_requests_total{endpoint="live_sessions_hangup",provider="openai",status="200"} 1`,
		`realtimesecret_session_requests_total{endpoint="calls",provider="",status="401"} 1`, // refused before the body named a provider
		`realtimesecret_session_requests_total{endpoint="calls",provider="openai",status="403"} 1`,
	}
	metrics := metricsWhen(t, sc.URL+"/metrics", func(m []byte) bool {
		lines := strings.Split(string(m), "\n")
		return !slices.ContainsFunc(samples, func(s string) bool { return !slices.Contains(lines, s) })
	})
	for _, want := range samples {
		assert.Contains(t, strings.Split(string(metrics), "\n"), want)
	}
	for _, secret := range []string{vkSidecar, vkSidecarOther, vkUnknown} {
		assert.NotContains(t, sc.logs.String(), secret, "a virtual key never reaches the log")
	}
}
