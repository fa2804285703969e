package openai

import (
	"context"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Session implements contract.SessionBroker: it posts req.Body byte
// for byte, with "Content-Type: req.ContentType" (none for a hang-up, which
// is sent with Content-Length 0), to
// {BaseURL}/v1/realtime/calls, {BaseURL}/v1/live/sessions or their
// .../{id}/hangup, authenticated with "Authorization: Bearer <key>", and
// returns the reply whatever its status and content type (a call is
// answered with application/sdp and a Location header). Its errors are
// those of Mint.
func (p *Provider) Session(ctx context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	if err := upstream.CheckSession("openai", req); err != nil {
		return nil, err
	}
	if !req.Endpoint.IsSession() {
		return nil, unsupported()
	}
	key := req.Key.Value.Reveal()

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.SessionHeader(req.Header, req.ContentType)
	h["Authorization"] = []string{"Bearer " + key}
	return x.Post(p.root+req.Endpoint.SessionPath(req.SessionID), h, req.Body, key)
}
