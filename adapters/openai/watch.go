package openai

import (
	"context"
	"net/http"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var _ contract.SessionWatcher = (*Provider)(nil)

// Watch implements contract.SessionWatcher: it opens a sideband
// WebSocket to a brokered session, authenticated with
// "Authorization: Bearer <key>": {BaseURL}/v1/realtime?call_id={id} for a
// Realtime call, {BaseURL}/v1/live/sessions/{id}/attach?graceful_close=false
// for a GPT-Live session (an observer: closing it leaves the session
// running). The handshake is bounded by Config.Timeout and never follows a
// redirect; each message is read up to Config.MaxResponseBytes. A 404
// answer wraps contract.ErrSessionNotFound; other errors are those of
// Mint.
func (p *Provider) Watch(ctx context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	path, err := upstream.SidebandPath("openai", req)
	if err != nil {
		return nil, err
	}
	key := req.Key.Value.Reveal()
	h := http.Header{"Authorization": {"Bearer " + key}}
	return p.poster.Sideband(ctx, req.Endpoint, p.root+path, h, key)
}
