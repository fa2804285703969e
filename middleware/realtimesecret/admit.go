package realtimesecret

import (
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unique"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// admission runs the steps a mint and a session creation share, in order:
// the Content-Type, the caller's virtual key (from the headers, before any
// byte of the body is read), the body, the model and provider, the
// caller's policy (or the app's Authorizer), the rate, the upstream key.
type admission struct {
	providers *providers
	callers   *callers
	limiter   contract.RateLimiter
	maxBody   int64
	// strict refuses a request whose rate the limiter could not decide.
	strict bool
	log    *slog.Logger
	now    func() time.Time
}

// admitted is a request admitted to its provider, or, when admission
// refused it, as far as it got.
type admitted struct {
	route     route
	provider  *provider // nil until resolved
	model     string    // as requested, before aliases; "" for the provider's default
	principal Principal
	key       *Key // nil until chosen
	body      mintBody
	offer     callOffer     // calls only
	token     authTokenBody // Gemini auth tokens only (EndpointAuthToken)
}

// record is the Record of what adm creates upstream with upstreamModel.
func (adm *admitted) record(upstreamModel string) Record {
	return Record{
		KeyID:        adm.key.ID,
		VirtualKeyID: adm.principal.ID,
		Provider:     adm.provider.name,
		Model:        unique.Make(upstreamModel).Value(), // records share a few model strings
		Endpoint:     adm.route.endpoint,
		// The limits travel with the token: its redemptions count
		// against them wherever they arrive.
		PrincipalKind:      adm.principal.Kind,
		MaxSessions:        adm.principal.MaxSessions,
		MaxSession:         adm.principal.MaxSession,
		GovernanceFailOpen: adm.principal.GovernanceFailOpen,
		SingleUse:          adm.principal.SingleUse,
		Budget:             adm.principal.Budget,
	}
}

// identify records who and what an admitted request is about, as far as
// admission got.
func (o *outcome) identify(adm *admitted) {
	if adm.provider != nil {
		o.provider = adm.provider.name
	}
	o.model, o.principal = adm.model, adm.principal.ID
	o.principalKind, o.policy, o.tokenID = adm.principal.Kind, adm.principal.Policy, adm.principal.TokenID
	if adm.key != nil {
		o.keyID = adm.key.ID
	}
}

// admit runs the steps on r, a request to rt, into adm.
func (a *admission) admit(r *http.Request, rt route, adm *admitted) *Error {
	adm.route = rt
	adm.provider = rt.provider
	form, boundary, e := checkContentType(rt.endpoint, r.Header)
	if e != nil {
		return e
	}
	vk, e := a.callers.authenticate(r)
	if e != nil {
		return e
	}
	body, e := a.readBody(r)
	if e != nil {
		return e
	}
	b := &adm.body
	switch form {
	case formJSON:
		if rt.endpoint == contract.EndpointAuthToken {
			e = parseAuthToken(body, &adm.token)
		} else {
			e = parseBody(body, rt.endpoint, b)
		}
	case formMultipart:
		e = parseCall(body, boundary, &adm.offer, b)
	case formSDP:
		e = parseRawOffer(body, &adm.offer, b)
	}
	if e != nil {
		return e
	}
	if e := a.resolveModel(adm, form); e != nil {
		return e
	}
	p := adm.provider
	adm.principal, e = a.callers.authorize(r, vk, Intent{Provider: p.name, Model: adm.model, Endpoint: rt.endpoint})
	if e != nil {
		return e
	}
	if e := refuseUnmeteredMint(rt.endpoint, &adm.principal); e != nil {
		return e
	}
	if rt.endpoint.IsSession() && p.broker == nil { // after the caller check: configuration is not for strangers
		return badRequest("provider "+quote(p.name)+" does not broker sessions", "", "unsupported_endpoint")
	}
	modelParam := b.modelParam
	if rt.endpoint == contract.EndpointAuthToken {
		// The token's uses and lifetime, against the caller's policy.
		if e := adm.token.check(adm.principal, a.now()); e != nil {
			return e
		}
		modelParam = adm.token.modelParam
	}
	if e := a.checkRate(r, adm.principal); e != nil {
		return e
	}
	if adm.key = pickKey(p.keys, adm.model); adm.key == nil {
		return badRequest("no upstream key of provider "+quote(p.name)+" serves model "+quote(adm.model), modelParam, "model_not_available")
	}
	return nil
}

// resolveModel sets adm's provider and model from the body and the route.
func (a *admission) resolveModel(adm *admitted, form int) *Error {
	b, rt := &adm.body, adm.route
	if rt.endpoint == contract.EndpointAuthToken {
		// A provider's own endpoint exists under its scope only: the
		// model is Google's, never "provider/model".
		adm.model = adm.token.model
		return nil
	}
	if adm.provider == nil && form == formSDP {
		adm.provider = a.providers.def // a raw offer names no model, so no provider either
	}
	switch {
	case b.modelAt.Found():
		p, model, e := a.providers.splitModel(rt.provider, b.model, b.modelParam)
		if e != nil {
			return e
		}
		adm.provider, adm.model = p, model
	case adm.provider == nil && form == formSDP:
		return badRequest("a raw application/sdp offer names no provider: send multipart/form-data with a session part whose model is written provider/model, "+
			"post the offer to /{provider}/v1/realtime/calls, or configure a default provider", "", "missing_provider")
	case adm.provider == nil || !optionalModel(rt.endpoint, b):
		return badRequest(b.modelParam+" is required", b.modelParam, "missing_model")
	}
	return nil
}

// optionalModel reports whether a body without a model may go on to the
// provider's default on a provider-scoped route: transcription sessions,
// and calls (a raw offer, or a session part without a model).
func optionalModel(ep Endpoint, b *mintBody) bool {
	return ep == contract.EndpointTranscriptionSession || ep == contract.EndpointCall ||
		(ep == contract.EndpointClientSecret && strings.HasPrefix(b.modelParam, "session.audio."))
}

// checkRate applies the principal's rate limit. A limiter that cannot
// decide lets the request through, unless strict.
func (a *admission) checkRate(r *http.Request, p Principal) *Error {
	if p.RateLimit.IsZero() {
		return nil
	}
	ok, retry, err := a.limiter.Allow(r.Context(), p.ID, p.RateLimit)
	switch {
	case err != nil:
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "realtime rate limiter failed", errAttr(err))
		if a.strict {
			return storeUnavailable(err)
		}
		return nil
	case ok:
		return nil
	}
	secs := strconv.FormatInt(max(int64((retry+time.Second-1)/time.Second), 1), 10)
	return &Error{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "rate_limit_exceeded",
		Message: describe(p.Kind, p.ID) + " has minted as often as its rate limit allows; retry after " + secs + "s",
		Header:  http.Header{"Retry-After": {secs}}}
}

// The forms a request body comes in.
const (
	formJSON      = iota // a JSON object: mints and Live sessions
	formMultipart        // multipart/form-data: a call's sdp and session parts
	formSDP              // application/sdp: a call's raw offer
)

// checkContentType returns the form of the request body the Content-Type
// announces, and a multipart body's boundary.
func checkContentType(ep Endpoint, header http.Header) (form int, boundary string, e *Error) {
	form, boundary, e = contentForm(ep, headerValue(header, "Content-Type"))
	if e != nil {
		return 0, "", e
	}
	if ce := headerValue(header, "Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return 0, "", badRequest("Content-Encoding "+quote(ce)+" is not supported; send the body uncompressed", "", "unsupported_content_encoding")
	}
	return form, boundary, nil
}

func contentForm(ep Endpoint, ct string) (form int, boundary string, e *Error) {
	if ct == "application/json" && ep != contract.EndpointCall { // the common case needs no parsing
		return formJSON, "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	mt = strings.ToLower(mt)
	if ep == contract.EndpointCall {
		switch {
		case err == nil && mt == "multipart/form-data" && params["boundary"] != "":
			return formMultipart, params["boundary"], nil
		case err == nil && mt == "multipart/form-data":
			return 0, "", badRequest("the multipart/form-data Content-Type has no boundary", "", "invalid_content_type")
		case err == nil && mt == "application/sdp":
			return formSDP, "", nil
		}
		return 0, "", badRequest("Content-Type must be multipart/form-data (parts sdp and session) or application/sdp", "", "invalid_content_type")
	}
	if err != nil || (mt != "application/json" && !(strings.HasSuffix(mt, "+json") && strings.Count(mt, "/") == 1)) {
		return 0, "", badRequest("Content-Type must be application/json", "", "invalid_content_type")
	}
	return formJSON, "", nil
}

// readBody reads the request body, failing with 413 past a.maxBody bytes.
// A body that announces a length up to bodyChunk is read into one slice of
// that length plus the byte that shows EOF (bytes.Buffer.ReadFrom would
// reserve 512 bytes more and copy); a longer one grows as its bytes
// arrive, so that a caller who announces a large body and sends none
// holds no more memory than it sent.
func (a *admission) readBody(r *http.Request) ([]byte, *Error) {
	limit := a.maxBody
	if r.ContentLength > limit {
		return nil, a.tooLarge()
	}
	if r.Body == nil {
		return nil, nil
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = min(r.ContentLength+1, bodyChunk)
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if left := limit + 1 - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Body.Read(room)
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return nil, a.tooLarge()
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, badRequest("the request body could not be read", "", "invalid_body")
		}
	}
}

// tooLarge is the 413 answer, built only when needed.
func (a *admission) tooLarge() *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: "the request body is larger than " + strconv.FormatInt(a.maxBody, 10) + " bytes"}
}

// bodyChunk bounds what readBody reserves ahead of the bytes it has: a
// mint body is well under 1 KiB, a call's offer 3-8 KiB.
const bodyChunk = 16 << 10

// ttlSeconds converts a maximum TTL to whole seconds, at least 1.
func ttlSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return max(int(d/time.Second), 1)
}
