package azure_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The transport failure modes are tested in depth in internal/upstream;
// these prove the Azure provider is wired to them.

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestFaults runs every failure mode of faultupstream: each fails with its
// own sentinel only, no reply, and neither the api-key nor the token in the
// error, whichever credential the request carried.
func TestFaults(t *testing.T) {
	token := func(context.Context) (string, error) { return testToken, nil }
	for _, f := range faultupstream.Faults {
		for name, tokens := range map[string]func(context.Context) (string, error){"api-key": nil, "token": token} {
			t.Run(f.Name+"/"+name, func(t *testing.T) {
				p := newProvider(t, azure.Config{Endpoint: f.Start(t), Timeout: f.Timeout, TokenSource: tokens})
				resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
				assert.Nil(t, resp)
				f.Check(t, err, testKey, testToken)
			})
		}
	}
}

func TestEchoedKeyIsRedacted(t *testing.T) {
	// The upstream answers the api-key as a malformed status line, which the
	// transport quotes in its error.
	p := newProvider(t, azure.Config{Endpoint: faultupstream.EchoCredential(t)})
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	requireSentinel(t, err, contract.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), "[REDACTED]")
}

func TestResponseTooLargeIsBadResponse(t *testing.T) {
	url := faultupstream.Answer(t, faultupstream.Reply{Body: []byte(strings.Repeat("x", 65))})
	p := newProvider(t, azure.Config{Endpoint: url, MaxResponseBytes: 64})
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	requireSentinel(t, err, contract.ErrUpstreamBadResponse)
}

func TestGzipReplyDecoded(t *testing.T) {
	const reply = `{"value":"ek_1","expires_at":1756310470}`
	url := faultupstream.Answer(t, faultupstream.Reply{Header: faultupstream.GzipHeader(), Body: faultupstream.Gzip(t, reply)})
	// A transport that does not decode, as a custom one may.
	p := newProvider(t, azure.Config{Endpoint: url, Client: &http.Client{Transport: &http.Transport{DisableCompression: true}}})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	require.NoError(t, err)
	assert.Equal(t, reply, string(resp.Body))
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	url, ctx := faultupstream.CancelOnArrival(t)
	p := newProvider(t, azure.Config{Endpoint: url})
	_, err := p.Mint(ctx, mintReq(contract.EndpointClientSecret, `{}`))
	requireSentinel(t, err, context.Canceled)
	assert.NotErrorIs(t, err, contract.ErrUpstreamTimeout)
}
