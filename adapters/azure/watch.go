package azure

import (
	"context"
	"net/http"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var _ contract.SessionWatcher = (*Provider)(nil)

// Watch implements contract.SessionWatcher: it opens a sideband
// WebSocket to a brokered session on Azure's v1 API,
// {Endpoint}/openai/v1/realtime?call_id={id} for a Realtime call and
// {Endpoint}/openai/v1/live/sessions/{id}/attach?graceful_close=false for
// a GPT-Live session (an observer: closing it leaves the session running),
// authenticated as Mint is (api-key, bearer key, or a TokenSource token).
// The handshake, the token included, is bounded by Config.Timeout and never
// follows a redirect; each message is read up to Config.MaxResponseBytes. A
// 404 answer wraps contract.ErrSessionNotFound; other errors are
// those of Mint.
func (p *Provider) Watch(ctx context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	path, err := upstream.SidebandPath("azure", req)
	if err != nil {
		return nil, err
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
