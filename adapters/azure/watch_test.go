package azure_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestMeterWatchAzureForm attaches sidebands to sessions of the fake
// upstream served in Azure's form ({endpoint}/openai/v1/...), with each
// way Azure authenticates.
func TestMeterWatchAzureForm(t *testing.T) {
	const token = "entra-token-SECRET-123"
	for _, tc := range []struct {
		name   string
		cfg    azure.Config
		secret string
		header string
	}{
		{name: "api-key", secret: testKey, header: "Api-Key"},
		{name: "bearer key", cfg: azure.Config{Auth: azure.AuthBearer}, secret: testKey, header: "Authorization"},
		{name: "token source", secret: token, header: "Authorization",
			cfg: azure.Config{TokenSource: func(context.Context) (string, error) { return token, nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeupstream.New(fakeupstream.Options{Keys: []string{tc.secret},
				Sideband: fakeupstream.SidebandScript{LiveSeconds: []float64{2}}})
			srv := httptest.NewServer(up)
			t.Cleanup(srv.Close)
			t.Cleanup(up.Close)
			tc.cfg.Endpoint = srv.URL
			p := newProvider(t, tc.cfg)
			key := &realtimesecret.Key{ID: "k1", Value: realtimesecret.Secret(testKey)}
			ctx := context.Background()

			body := `{"session":{"model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":` + jsonQuote(fakeupstream.SampleOffer) + `}}`
			resp, err := p.Session(ctx, &contract.SessionRequest{Endpoint: contract.EndpointLiveSession, Key: key,
				ContentType: "application/json", Body: []byte(body)})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", resp.Body)
			var created struct {
				Session struct{ ID string } `json:"session"`
			}
			require.NoError(t, json.Unmarshal(resp.Body, &created))
			id := created.Session.ID

			sb, err := p.Watch(ctx, &contract.SessionRequest{Endpoint: contract.EndpointLiveSession, SessionID: id, Key: key})
			require.NoError(t, err)
			last, ok := up.LastRequest(fakeupstream.PathLiveAttach)
			require.True(t, ok)
			assert.Equal(t, "/openai/v1/live/sessions/"+id+"/attach", last.Path)
			assert.Equal(t, "graceful_close=false", last.RawQuery)
			assert.Contains(t, last.Header.Get(tc.header), tc.secret)

			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			event, err := sb.Read(rctx)
			require.NoError(t, err)
			assert.JSONEq(t, `{"type":"session.usage.updated","event_id":"event_usage","usage":{"seconds":2}}`, string(event))
			require.NoError(t, sb.Write(rctx, []byte(`{"type":"session.close"}`)))
			event, err = sb.Read(rctx)
			require.NoError(t, err)
			assert.Contains(t, string(event), `"session.closed"`)
			_, err = sb.Read(rctx)
			require.ErrorIs(t, err, contract.ErrSidebandClosed)
			require.NoError(t, sb.Close())

			_, err = p.Watch(ctx, &contract.SessionRequest{Endpoint: contract.EndpointLiveSession, SessionID: id, Key: key})
			require.ErrorIs(t, err, contract.ErrSessionNotFound, "the session ended")
			assert.NotContains(t, err.Error(), tc.secret)
		})
	}
}

func TestMeterWatchRefusedWithoutTheKeyInTheError(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"another-key"}})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	t.Cleanup(up.Close)
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	_, err := p.Watch(context.Background(), &contract.SessionRequest{Endpoint: contract.EndpointCall, SessionID: "rtc_1",
		Key: &realtimesecret.Key{ID: "k1", Value: realtimesecret.Secret(testKey)}})
	require.ErrorIs(t, err, contract.ErrUpstreamUnavailable)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "401")

	_, err = p.Watch(context.Background(), &contract.SessionRequest{Endpoint: contract.EndpointCallHangup, SessionID: "rtc_1",
		Key: &realtimesecret.Key{ID: "k1", Value: realtimesecret.Secret(testKey)}})
	require.Error(t, err, "only calls and Live sessions have sidebands")
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return strings.TrimSpace(string(b))
}
