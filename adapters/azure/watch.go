package azure

import (
	"context"
	"errors"
	"net/http"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

var _ realtimesecret.SessionWatcher = (*Provider)(nil)

// Watch implements realtimesecret.SessionWatcher: it opens a sideband
// WebSocket to a brokered session on Azure's v1 API,
// {Endpoint}/openai/v1/realtime?call_id={id} for a Realtime call and
// {Endpoint}/openai/v1/live/sessions/{id}/attach?graceful_close=false for
// a GPT-Live session (an observer: closing it leaves the session running),
// authenticated as Mint is (api-key, bearer key, or a TokenSource token).
// The handshake, the token included, is bounded by Config.Timeout and never
// follows a redirect; each message is read up to Config.MaxResponseBytes. A
// 404 answer wraps realtimesecret.ErrSessionNotFound; other errors are
// those of Mint.
func (p *Provider) Watch(ctx context.Context, req *realtimesecret.SessionRequest) (realtimesecret.Sideband, error) {
	if req == nil || req.Key == nil {
		return nil, errors.New("azure: sideband request without a key")
	}
	path := req.Endpoint.SidebandPath(req.SessionID)
	if path == "" || req.SessionID == "" {
		return nil, errors.New("azure: sideband request without a call or Live session id")
	}
	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := http.Header{}
	secret, err := p.authorize(&x, h, req.Key)
	if err != nil {
		return nil, err
	}
	return p.poster.Sideband(x.Context(), req.Endpoint, p.sessionRoot+path, h, secret)
}
