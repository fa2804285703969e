package azure

import (
	"context"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Session implements contract.SessionBroker: it posts req.Body byte
// for byte, with "Content-Type: req.ContentType" (none for a hang-up, which
// is sent with Content-Length 0), to Azure's v1 API,
// {Endpoint}/openai/v1/realtime/calls, {Endpoint}/openai/v1/live/sessions
// or their .../{id}/hangup, without an api-version, authenticated as Mint
// is (api-key, bearer key, or a TokenSource token). A 2xx reply is returned
// as it came, whatever its content type (a call is answered with
// application/sdp and a Location header); a non-2xx one is rewritten into
// the OpenAI error shape as for Mint. Its errors are those of Mint.
func (p *Provider) Session(ctx context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	if err := upstream.CheckSession("azure", req); err != nil {
		return nil, err
	}
	if !req.Endpoint.IsSession() {
		return nil, unsupported(req.Endpoint)
	}

	x := p.poster.Begin(ctx, req.Endpoint)
	defer x.Close()
	h := upstream.SessionHeader(req.Header, req.ContentType)
	secret, err := p.authorize(&x, h, req.Key)
	if err != nil {
		return nil, err
	}
	return post(&x, p.sessionRoot+req.Endpoint.SessionPath(req.SessionID), h, req.Body, secret)
}
