package realtimesecret_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/xai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// acceptSecretProtocol accepts a WebSocket as a provider does for a
// browser: it selects the offered subprotocol that carries a secret (one
// of prefixes) and echoes it, sends the protocol it selected as its first
// message (as it read it, before the middleware reseals its answer), and
// holds the connection until the client closes it.
func acceptSecretProtocol(t *testing.T, prefixes ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var selected []string
		for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
			for item := range strings.SplitSeq(v, ",") {
				item = strings.TrimSpace(item)
				for _, p := range prefixes {
					if strings.HasPrefix(item, p) && len(selected) == 0 {
						selected = append(selected, item)
					}
				}
			}
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: selected})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer func() { _ = c.CloseNow() }()
		if len(selected) == 0 {
			t.Error("no secret's protocol offered")
			return
		}
		if err := c.Write(r.Context(), websocket.MessageText, []byte(selected[0])); err != nil {
			return
		}
		_, _, _ = c.Read(r.Context()) // until the client closes
	}
}

// xaiMintServer answers xAI's client_secrets endpoint with a new secret
// each time, and records them.
type xaiMintServer struct {
	mu     sync.Mutex
	minted []string
}

func (s *xaiMintServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	secret := xai.SecretPrefix + hex.EncodeToString(b)
	s.mu.Lock()
	s.minted = append(s.minted, secret)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"value":"`+secret+`","expires_at":`+strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)+`}`)
}

func (s *xaiMintServer) last(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.minted)
	return s.minted[len(s.minted)-1]
}

// TestSealedRedemptionAnswerIsResealed: a sealed token redeemed in a
// WebSocket subprotocol (xAI's "xai-client-secret.", OpenAI's
// "openai-insecure-api-key.") reaches the upstream as the upstream token;
// the upstream echoes the protocol it selected, and the client's handshake
// still succeeds with the protocol it offered, the sealed one: the upstream
// token is in no header of the answer. Behind httputil.ReverseProxy (it
// writes the 101 on the hijacked connection) and with next accepting the
// WebSocket itself (WriteHeader(101), then Hijack), with and without a
// lease on the connection (MaxSessions).
func TestSealedRedemptionAnswerIsResealed(t *testing.T) {
	const (
		xaiProtocol    = xai.Subprotocol
		openaiProtocol = "openai-insecure-api-key."
	)
	type provider struct {
		name      string
		config    func(t *testing.T) (realtimesecret.ProviderConfig, func(t *testing.T) string)
		mintPath  string
		mintBody  string
		protocol  string
		offerMore []string // offered before the secret's protocol
	}
	providers := []provider{
		{
			name: "xAI",
			config: func(t *testing.T) (realtimesecret.ProviderConfig, func(t *testing.T) string) {
				mints := &xaiMintServer{}
				srv := httptest.NewServer(mints)
				t.Cleanup(srv.Close)
				p, err := xai.New(xai.Config{BaseURL: srv.URL})
				require.NoError(t, err)
				return realtimesecret.ProviderConfig{Name: "xai", Provider: p,
					Keys: []realtimesecret.Key{{ID: "x1", Value: upstreamKey}}}, mints.last
			},
			mintPath: "/xai/v1/realtime/client_secrets",
			mintBody: `{"session":{"type":"realtime","model":"grok-voice"}}`,
			protocol: xaiProtocol,
		},
		{
			name: "OpenAI",
			config: func(t *testing.T) (realtimesecret.ProviderConfig, func(t *testing.T) string) {
				p := newFakeProvider()
				return baseConfig(p).Providers[0], func(t *testing.T) string { return tokenInUpstreamReply(t, p) }
			},
			mintPath:  "/v1/realtime/client_secrets",
			mintBody:  gaBody,
			protocol:  openaiProtocol,
			offerMore: []string{"realtime"},
		},
	}
	nexts := map[string]func(t *testing.T) http.Handler{
		"ReverseProxy": func(t *testing.T) http.Handler {
			upstream := httptest.NewServer(acceptSecretProtocol(t, xaiProtocol, openaiProtocol))
			t.Cleanup(upstream.Close)
			target, err := url.Parse(upstream.URL)
			require.NoError(t, err)
			return httputil.NewSingleHostReverseProxy(target)
		},
		"next accepts": func(t *testing.T) http.Handler { return acceptSecretProtocol(t, xaiProtocol, openaiProtocol) },
	}
	for _, pv := range providers {
		for nextName, newNext := range nexts {
			for _, maxSessions := range []int{0, 1} {
				t.Run(pv.name+"/"+nextName+"/MaxSessions="+strconv.Itoa(maxSessions), func(t *testing.T) {
					pc, lastUpstream := pv.config(t)
					h, err := realtimesecret.New(realtimesecret.Config{
						Providers:   []realtimesecret.ProviderConfig{pc},
						VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: vkWeb, MaxSessions: maxSessions}},
						SealKeys:    []realtimesecret.SealKey{sealKey1},
					})
					require.NoError(t, err)
					t.Cleanup(func() { require.NoError(t, h.Close()) })
					mw := h.Wrap(newNext(t))
					srv := httptest.NewServer(mw)
					t.Cleanup(srv.Close)

					sealed := mintedValue(t, do(t, mw, http.MethodPost, pv.mintPath, pv.mintBody, "Authorization", "Bearer "+vkWeb))
					require.True(t, strings.HasPrefix(sealed, "ek_rs_"), sealed)
					upstream := lastUpstream(t)
					offered := pv.protocol + sealed

					ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
					defer cancel()
					//nolint:bodyclose // coder/websocket: the body is nil on success, read and closed on failure
					c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/realtime?model=m",
						&websocket.DialOptions{Subprotocols: append(append([]string(nil), pv.offerMore...), offered)})
					require.NotNil(t, resp, "%v", err)
					for name, values := range resp.Header {
						assert.NotContains(t, name, upstream, "the upstream token never reaches the client")
						for _, v := range values {
							assert.NotContains(t, v, upstream, "the upstream token never reaches the client: %s", name)
						}
					}
					require.NoError(t, err, "the client's handshake succeeds")
					assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
					assert.Equal(t, []string{offered}, resp.Header.Values("Sec-WebSocket-Protocol"))
					assert.Equal(t, offered, c.Subprotocol())
					_, msg, err := c.Read(ctx)
					require.NoError(t, err)
					assert.Equal(t, pv.protocol+upstream, string(msg), "the upstream was offered the upstream token")
					require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
				})
			}
		}
	}
}
