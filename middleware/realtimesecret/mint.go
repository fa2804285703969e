package realtimesecret

import (
	"net/http"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// minter sends an admitted mint upstream and records the token it gets.
type minter struct {
	records *records
	forward forwardHeaders
	now     func() time.Time
	// strict fails a mint whose record cannot be stored.
	strict bool
}

// mint is the provider, store and answer steps of a mint.
func (mn *minter) mint(r *http.Request, adm *admitted, out *outcome) {
	upstreamModel := resolveAlias(adm.key, adm.model)
	req := &contract.MintRequest{
		Endpoint: adm.route.endpoint,
		Key:      adm.key,
		Body:     adm.body.normalize(upstreamModel, ttlSeconds(adm.principal.MaxTTL)),
		Header:   mn.forward.pick(r.Header),
	}
	start := mn.now()
	resp, err := adm.provider.adapter.Mint(r.Context(), req)
	out.upstream = mn.now().Sub(start)
	if err != nil {
		out.cause = err
		out.fail(upstreamFailure(r.Context(), err))
		return
	}
	if !is2xx(resp.StatusCode) {
		var e *Error
		if out.reply, e = upstreamRefusal(resp); e != nil {
			out.fail(e)
		}
		return
	}
	token, expiresAt, ok := mintedToken(resp.Body)
	if !ok {
		out.fail(&Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider answered without a client secret"})
		return
	}
	rec := adm.record(upstreamModel)
	rec.ExpiresAt = time.Unix(expiresAt, 0)
	body := resp.Body
	switch {
	case mn.records.sealer != nil:
		if body, err = sealBody(mn.records.sealer, resp.Body, token, &rec); err != nil {
			out.cause = err
			out.fail(&Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
				Message: "the upstream provider's client secret could not be sealed"})
			return
		}
	case rec.ExpiresAt.After(mn.now()): // expired on arrival: nothing to attribute
		if err := mn.records.putToken(r.Context(), token, rec); err != nil {
			out.storeErr = err
			if mn.strict {
				out.fail(storeUnavailable(err))
				return
			}
		}
	}
	out.reply = reply{status: resp.StatusCode, upstream: resp.Header, contentType: jsonContentType, body: body}
}
