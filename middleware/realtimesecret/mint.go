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
	ep := adm.route.endpoint
	req := &contract.MintRequest{
		Endpoint: ep,
		Key:      adm.key,
		Header:   mn.forward.pick(r.Header),
	}
	if ep == contract.EndpointAuthToken {
		req.Body = adm.token.normalize(upstreamModel)
	} else {
		req.Body = adm.body.normalize(upstreamModel, ttlSeconds(adm.principal.MaxTTL))
	}
	tr := betaTranslation(ep, adm.provider.forwardBeta) // nil: sent as it is
	if e := tr.request(req); e != nil {
		out.fail(e)
		return
	}
	start := mn.now()
	resp, err := adm.provider.adapter.Mint(r.Context(), req)
	out.upstream = mn.now().Sub(start)
	if err != nil {
		out.cause = err
		out.fail(upstreamFailure(r.Context(), err))
		return
	}
	if e := tr.answer(resp); e != nil {
		out.fail(e)
		return
	}
	if !is2xx(resp.StatusCode) {
		var e *Error
		if out.reply, e = upstreamRefusal(resp); e != nil {
			out.fail(e)
		}
		return
	}
	token, expiresAt, ok := "", time.Time{}, false
	if ep == contract.EndpointAuthToken {
		// Google answers the token's name; it expires when the request
		// said it would.
		token, ok = authTokenName(resp.Body)
		expiresAt = adm.token.expiresAt
	} else {
		var at int64
		token, at, ok = mintedToken(resp.Body)
		expiresAt = time.Unix(at, 0)
	}
	if !ok {
		out.fail(&Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider answered without a client secret"})
		return
	}
	rec := adm.record(upstreamModel)
	rec.ExpiresAt = expiresAt
	body := resp.Body
	switch {
	case mn.records.sealer != nil && ep != contract.EndpointAuthToken:
		// A Gemini token stays as Google named it: the SDKs pick the
		// Live endpoint by its "auth_tokens/" prefix. It is stored.
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
