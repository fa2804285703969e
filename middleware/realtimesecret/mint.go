package realtimesecret

import (
	"context"
	"errors"
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

// mint is the state of one mint request, reported in the MintEvent.
type mint struct {
	ev    MintEvent
	start time.Time
}

func (h *Handler) serveMint(w http.ResponseWriter, r *http.Request, rt route, sessionID string) {
	m := mint{start: h.now(), ev: MintEvent{Endpoint: rt.endpoint, SessionID: sessionID}}
	if rt.provider != nil {
		m.ev.Provider = rt.provider.name
	}
	var e *Error
	if rt.endpoint.IsHangup() {
		e = h.hangup(w, r, rt, sessionID, &m)
	} else {
		e = h.mint(w, r, rt, &m)
	}
	if e != nil {
		m.ev.Status, m.ev.Code = e.Status, e.Code
		if m.ev.Err == nil {
			m.ev.Err = e
		}
		writeError(w, e)
	}
	// The answer is whole (every answer sets Content-Length): send it now.
	// net/http would send it only when the handler returns, after the log
	// line and the hooks below, and the caller would wait for them.
	flush(w)
	m.ev.Duration = h.now().Sub(m.start)
	h.logMint(r.Context(), &m.ev)
	if h.onMint != nil {
		h.onMint(m.ev)
	}
}

// mint runs the checks of a mint or a brokered session creation in order,
// calls the provider and answers. It returns the error to answer with, or
// nil once it has answered.
func (h *Handler) mint(w http.ResponseWriter, r *http.Request, rt route, m *mint) *Error {
	form, boundary, e := checkContentType(rt.endpoint, r.Header)
	if e != nil {
		return e
	}
	body, e := h.readBody(r)
	if e != nil {
		return e
	}
	var b mintBody
	var offer callOffer // calls only
	switch form {
	case formJSON:
		e = parseBody(body, rt.endpoint, &b)
	case formMultipart:
		e = parseCall(body, boundary, &offer, &b)
	case formSDP:
		e = parseRawOffer(body, &offer, &b)
	}
	if e != nil {
		return e
	}
	p, model := rt.provider, ""
	if p == nil && form == formSDP {
		p = h.defaultProvider // a raw offer names no model, so no provider either
	}
	switch {
	case b.modelAt.Found():
		if p, model, e = h.splitModel(rt, b.model, b.modelParam); e != nil {
			return e
		}
	case p == nil && form == formSDP:
		return badRequest("a raw application/sdp offer names no provider: send multipart/form-data with a session part whose model is written provider/model, "+
			"post the offer to /{provider}/v1/realtime/calls, or configure a default provider", "", "missing_provider")
	case p == nil || !optionalModel(rt.endpoint, &b):
		return badRequest(b.modelParam+" is required", b.modelParam, "missing_model")
	}
	m.ev.Provider, m.ev.Model = p.name, model

	principal, e := h.authorize(r, Intent{Provider: p.name, Model: model, Endpoint: rt.endpoint})
	m.ev.VirtualKeyID = principal.ID // known on a 403 too, once the key was identified
	if e != nil {
		return e
	}
	if rt.endpoint.IsSession() && p.broker == nil { // after the caller check: configuration is not for strangers
		return unsupportedEndpoint(p.name)
	}
	if e := h.checkRate(w, r, principal); e != nil {
		return e
	}

	key := pickKey(p.keys, model)
	if key == nil {
		return badRequest("no upstream key of provider "+quote(p.name)+" serves model "+quote(model), b.modelParam, "model_not_available")
	}
	m.ev.KeyID = key.ID
	upstreamModel := resolveAlias(key, model)
	rec := Record{
		KeyID:        key.ID,
		VirtualKeyID: principal.ID,
		Provider:     p.name,
		Model:        unique.Make(upstreamModel).Value(), // records share a few model strings
		Endpoint:     rt.endpoint,
	}
	if rt.endpoint.IsSession() {
		return h.createSession(w, r, rt, p, sessionRequest(rt.endpoint, key, &b, &offer, upstreamModel), rec, principal, m)
	}

	req := &contract.MintRequest{
		Endpoint: rt.endpoint,
		Key:      key,
		Body:     b.normalize(upstreamModel, ttlSeconds(principal.MaxTTL)),
		Header:   h.forwardHeader(r.Header),
	}
	upstreamStart := h.now()
	resp, err := p.adapter.Mint(r.Context(), req)
	m.ev.UpstreamDuration = h.now().Sub(upstreamStart)
	if err != nil {
		return h.upstreamError(r.Context(), err, m)
	}
	return h.answer(w, r, resp, rec, m)
}

// optionalModel reports whether a body without a model may go on to the
// provider's default on a provider-scoped route: transcription sessions,
// and calls (a raw offer, or a session part without a model).
func optionalModel(ep Endpoint, b *mintBody) bool {
	return ep == contract.EndpointTranscriptionSession || ep == contract.EndpointCall || (ep == contract.EndpointClientSecret && strings.HasPrefix(b.modelParam, "session.audio."))
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

// readBody reads the request body, failing with 413 past h.maxBody bytes.
// A body that announces its length is read into one slice of that length
// plus the byte that shows EOF: bytes.Buffer.ReadFrom would reserve 512 bytes
// more and copy, and an io.LimitReader would be one more allocation.
// headerValue is header.Get for a key already in canonical form: Get
// canonicalizes its key on every call, which was ~7% of a mint's
// instructions over the handful of lookups a mint makes.
func headerValue(header http.Header, canonicalKey string) string {
	if v := header[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h *Handler) readBody(r *http.Request) ([]byte, *Error) {
	limit := h.maxBody
	if r.ContentLength > limit {
		return nil, h.tooLarge()
	}
	if r.Body == nil {
		return nil, nil
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
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
			return nil, h.tooLarge()
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, badRequest("the request body could not be read", "", "invalid_body")
		}
	}
}

// tooLarge is the 413 answer, built only when needed.
func (h *Handler) tooLarge() *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: "the request body is larger than " + strconv.FormatInt(h.maxBody, 10) + " bytes"}
}

// authorize authenticates the caller and applies its policy to in.
func (h *Handler) authorize(r *http.Request, in Intent) (Principal, *Error) {
	switch {
	case h.vks != nil:
		vk, e := h.vks.find(r)
		if e != nil {
			return Principal{}, e
		}
		if e := vk.authorize(in); e != nil {
			// The caller is identified: its ID goes to the log and OnMint.
			return Principal{ID: vk.ID}, e
		}
		return Principal{ID: vk.ID, MaxTTL: vk.MaxTTL, RateLimit: vk.RateLimit, MaxSession: vk.MaxSession, MaxSessions: vk.MaxSessions}, nil
	case h.authorizer != nil:
		p, err := h.authorizer(r, in)
		if err == nil {
			return p, nil
		}
		// An Authorizer that identified the caller before refusing it may
		// return its ID with the error, for the log and OnMint.
		who := Principal{ID: p.ID}
		var e *Error
		switch {
		case errors.As(err, &e):
			return who, e
		case errors.Is(err, ErrUnauthenticated):
			return who, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "unauthenticated",
				Message: "authentication is required", Err: err}
		case errors.Is(err, ErrForbidden):
			return who, &Error{Status: http.StatusForbidden, Type: typePermission, Code: "forbidden",
				Message: "the caller may not mint this client secret", Err: err}
		default:
			return who, &Error{Status: http.StatusInternalServerError, Type: typeServer, Code: "authorizer_error",
				Message: "the request could not be authorized", Err: err}
		}
	}
	return Principal{}, nil
}

func (h *Handler) checkRate(w http.ResponseWriter, r *http.Request, p Principal) *Error {
	if p.RateLimit.IsZero() {
		return nil
	}
	ok, retry, err := h.limiter.Allow(r.Context(), p.ID, p.RateLimit)
	if err != nil {
		h.log.LogAttrs(r.Context(), warnLevel, "realtime rate limiter failed", errAttr(err))
		if h.strict {
			return storeUnavailable(err)
		}
		return nil
	}
	if ok {
		return nil
	}
	secs := int64((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	return &Error{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "rate_limit_exceeded",
		Message: "the virtual key's mint rate limit is exceeded; retry after " + strconv.FormatInt(max(secs, 1), 10) + "s"}
}

func storeUnavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "store_unavailable",
		Message: "the token store is unavailable; try again later", Err: err}
}

// forwardHeader returns the allowlisted client headers, or nil.
func (h *Handler) forwardHeader(in http.Header) http.Header {
	var out http.Header
	for _, name := range h.forward {
		if v, ok := in[name]; ok {
			if out == nil {
				out = make(http.Header, len(h.forward))
			}
			out[name] = v
		}
	}
	return out
}

// ttlSeconds converts a maximum TTL to whole seconds, at least 1.
func ttlSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return max(int(d/time.Second), 1)
}

// upstreamError maps a provider error to the answer.
func (h *Handler) upstreamError(ctx context.Context, err error, m *mint) *Error {
	m.ev.Err = err
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, contract.ErrUpstreamTimeout):
		return &Error{Status: http.StatusGatewayTimeout, Type: typeUpstream, Code: "upstream_timeout",
			Message: "the upstream provider did not answer in time"}
	case ctx.Err() != nil:
		// The client went away; there is no one to answer. 499 is what
		// proxies log for this.
		return &Error{Status: 499, Type: typeUpstream, Code: "client_closed_request", Message: "the client closed the request"}
	default:
		return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "upstream_unavailable",
			Message: "the upstream provider could not be reached or gave an unusable answer"}
	}
}

var warnLevel = slog.LevelWarn

// millis is d in milliseconds, with microsecond precision, for log lines.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }

func (h *Handler) logMint(ctx context.Context, ev *MintEvent) {
	level := slog.LevelInfo
	if ev.Status >= 500 || ev.StoreErr != nil {
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("provider", ev.Provider),
		slog.String("endpoint", ev.Endpoint.String()),
		slog.Int("status", ev.Status),
		slog.String("virtual_key_id", ev.VirtualKeyID),
		slog.String("key_id", ev.KeyID),
		slog.String("model", ev.Model),
		slog.Float64("duration_ms", millis(ev.Duration)),
		slog.Float64("upstream_duration_ms", millis(ev.UpstreamDuration)),
	}
	if ev.SessionID != "" {
		attrs = append(attrs, slog.String("session_id", ev.SessionID))
	}
	if ev.Code != "" {
		attrs = append(attrs, slog.String("code", ev.Code))
	}
	if ev.Err != nil {
		attrs = append(attrs, errAttr(ev.Err))
	}
	if ev.StoreErr != nil {
		attrs = append(attrs, slog.String("store_error", ev.StoreErr.Error()))
	}
	h.log.LogAttrs(ctx, level, "realtime mint", attrs...)
}

// flush sends what w holds, as http.ResponseController's Flush does (through
// wrappers that have Unwrap), without allocating the controller. A writer
// that cannot flush sends it when the handler returns.
func flush(w http.ResponseWriter) {
	for {
		switch t := w.(type) {
		case http.Flusher:
			t.Flush()
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}
