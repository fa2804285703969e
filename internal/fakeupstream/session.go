package fakeupstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"
)

// sessionKindRoute is a brokered session route.
type sessionKindRoute uint8

const (
	notSession sessionKindRoute = iota
	routeCall
	routeLive
	routeCallHangup
	routeLiveHangup
)

// Prefixes of the hang-up routes: {prefix}{id}/hangup.
const (
	callsPrefix  = PathCalls + "/"
	livePrefix   = PathLiveSessions + "/"
	hangupSuffix = "/hangup"
	callIDPrefix = "rtc_"
	liveIDPrefix = "sess_"
)

// sessionRoute returns the session route of path and, for a hang-up, the
// id in it.
func sessionRoute(path string) (sessionKindRoute, string) {
	switch path {
	case PathCalls:
		return routeCall, ""
	case PathLiveSessions:
		return routeLive, ""
	}
	if id, ok := hangupID(path, callsPrefix); ok {
		return routeCallHangup, id
	}
	if id, ok := hangupID(path, livePrefix); ok {
		return routeLiveHangup, id
	}
	return notSession, ""
}

func hangupID(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, hangupSuffix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// routeOf names the route of path for LastRequest.
func routeOf(path string) string {
	p, _ := azureSessionPath(path)
	switch rt, _ := sessionRoute(p); rt {
	case routeCallHangup:
		return PathCallHangup
	case routeLiveHangup:
		return PathLiveSessionHangup
	}
	if _, ok := attachID(p); ok {
		return PathLiveAttach
	}
	if p == PathRealtime {
		return PathRealtime
	}
	return path
}

// azureSessionPath returns path without Azure's "/openai" before "/v1/",
// and whether it had it: the session and sideband routes are served in
// Azure's form too, {endpoint}/openai/v1/..., with the key in an "api-key"
// header or as a bearer token.
func azureSessionPath(path string) (string, bool) {
	if rest, ok := strings.CutPrefix(path, "/openai"); ok && strings.HasPrefix(rest, "/v1/") {
		return rest, true
	}
	return path, false
}

// credential returns the key a session or sideband request presented:
// the bearer token, or in Azure's form the "api-key" header first.
func (s *Server) credential(h http.Header, azure bool) string {
	if azure {
		if k := strings.TrimSpace(h.Get("Api-Key")); k != "" {
			return k
		}
	}
	return s.flavor.credential(h)
}

// Errors of the session routes, worded like OpenAI's.
var (
	errRawSDPNeedsEphemeral = &apiError{status: http.StatusBadRequest, code: "invalid_content_type",
		message: "An application/sdp body is only accepted with an ephemeral client secret (ek_...). " +
			"With an API key, send multipart/form-data with an 'sdp' part and an optional 'session' part."}
	errCallContentType = &apiError{status: http.StatusBadRequest, code: "invalid_content_type",
		message: "Unsupported content type: expected multipart/form-data or application/sdp."}
	errLiveContentType = &apiError{status: http.StatusBadRequest, code: "invalid_content_type",
		message: "Unsupported content type: expected application/json."}
	errMultipart = &apiError{status: http.StatusBadRequest, code: "invalid_multipart",
		message: "Could not parse the multipart/form-data body."}
	errEphemeralLive = &apiError{status: http.StatusUnauthorized, code: "invalid_api_key",
		message: "Live sessions cannot be created with an ephemeral client secret; use an API key."}
)

// errWebRTCHangup refuses the hang-up of a WebRTC GPT-Live session.
var errWebRTCHangup = &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "webrtc_session",
	message: "This session is connected over WebRTC: end it by sending session.close on its attach. Hang up is for SIP sessions."}

func unknownParameter(param string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "unknown_parameter",
		message: "Unknown parameter: '" + param + "'."}
}

func invalidSDP(param string, err error) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "invalid_offer",
		message: "Invalid SDP offer in '" + param + "': " + err.Error() + "."}
}

func notFound(kind SessionKind, id string) *apiError {
	what := "Call"
	if kind == SessionLive {
		what = "Session"
	}
	return &apiError{status: http.StatusNotFound, code: "not_found",
		message: what + " with id '" + id + "' not found."}
}

// serveSession answers a request to a session route, after recording and
// the fault hook. Every request to a hang-up route is counted once, whatever
// its answer.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, rt sessionKindRoute, id string,
	body []byte, tooLarge bool, readErr error, azure bool,
) {
	hangup := rt == routeCallHangup || rt == routeLiveHangup
	if r.Method != http.MethodPost {
		if hangup {
			s.sessions.countHangup()
		}
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, errMethod)
		return
	}
	key := s.credential(r.Header, azure)
	ephemeral := strings.HasPrefix(key, SecretPrefix)
	var e *apiError
	switch {
	case ephemeral && rt == routeCall:
		if !s.minted(key) {
			e = &apiError{status: http.StatusUnauthorized, message: "Incorrect API key provided.", code: "invalid_api_key"}
		}
	case ephemeral && rt == routeLive:
		e = errEphemeralLive
	default:
		e = s.authorizeKey(key)
	}
	if e == nil && tooLarge {
		e = errTooLarge
	} else if e == nil && readErr != nil {
		e = errUnreadable
	}
	if e != nil {
		if hangup {
			s.sessions.countHangup()
		}
		writeError(w, e)
		return
	}

	switch rt {
	case routeCall:
		s.createCall(w, r, key, ephemeral, body)
	case routeLive:
		s.createLive(w, r, key, body)
	case routeCallHangup:
		s.hangup(w, SessionCall, id, key)
	default:
		s.hangup(w, SessionLive, id, key)
	}
}

// createCall answers POST /v1/realtime/calls: 201, the SDP answer, and the
// call's path in Location.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request, key string, ephemeral bool, body []byte) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var offer []byte
	model := []byte(defaultGAModel) // a raw offer's, or a call without a session
	switch {
	case err != nil:
		writeError(w, errCallContentType)
		return
	case mt == "application/sdp":
		if !ephemeral {
			writeError(w, errRawSDPNeedsEphemeral)
			return
		}
		offer = body
	case mt == "multipart/form-data":
		var sess []byte
		var e *apiError
		if offer, sess, e = callParts(body, params["boundary"]); e != nil {
			writeError(w, e)
			return
		}
		if sess != nil {
			if model, e = s.callSession(sess); e != nil {
				writeError(w, e)
				return
			}
		}
	default:
		writeError(w, errCallContentType)
		return
	}
	answer, e := answerOffer(offer, "sdp")
	if e != nil {
		writeError(w, e)
		return
	}

	id := string(appendRawID(nil, callIDPrefix))
	sess := Session{ID: id, Kind: SessionCall, Model: unquote(model), Ephemeral: ephemeral, Created: s.now()}
	s.sessions.create(sess, key)
	if !s.holdCreation(r.Context(), sess) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", PathCalls+"/"+id)
	s.setAPIHeaders(h)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer) //nolint:gosec // an application/sdp body that mirrors the offer, as the real API does; no browser renders it
}

// callParts reads a multipart calls body: exactly one "sdp" part and at
// most one "session" part (nil when absent). Other or repeated parts are
// refused.
func callParts(body []byte, boundary string) (sdp, session []byte, e *apiError) {
	if boundary == "" {
		return nil, nil, errMultipart
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, errMultipart
		}
		name := p.FormName()
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, errMultipart
		}
		switch {
		case name == "sdp" && sdp == nil:
			sdp = data
		case name == "session" && session == nil:
			session = data
		case name == "sdp" || name == "session":
			return nil, nil, &apiError{status: http.StatusBadRequest, param: name, code: "duplicate_parameter",
				message: "Duplicate parameter: '" + name + "'."}
		default:
			return nil, nil, unknownParameter(name)
		}
	}
	if sdp == nil {
		return nil, nil, missing("sdp")
	}
	return sdp, session, nil
}

// callSession checks the session part of a call, a GA realtime session,
// and returns its model as raw JSON (OpenAI's default when absent).
func (s *Server) callSession(part []byte) ([]byte, *apiError) {
	if !json.Valid(part) {
		return nil, errNotJSON
	}
	sess, err := objectMembers(part)
	if err != nil {
		return nil, invalidType("session", "an object", bytes.TrimSpace(part))
	}
	if _, typ, ok, e := stringAt(sess, "type", "session.type"); e != nil {
		return nil, e
	} else if ok && typ != "realtime" {
		return nil, invalidValue("session.type", typ, "'realtime'")
	}
	return s.model(sess, "model", "session.model", defaultGAModel)
}

// createLive answers POST /v1/live/sessions: 201 and
// {"session":{"id","model"},"transport":{"type":"webrtc","sdp":answer}}.
// The body is checked as strictly as GPT-Live does: unknown members of the
// body or of transport are refused; session is the model's business.
func (s *Server) createLive(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, errLiveContentType)
		return
	}
	model, offer, e := s.liveRequest(body)
	if e != nil {
		writeError(w, e)
		return
	}
	answer, e := answerOffer(offer, "transport.sdp")
	if e != nil {
		writeError(w, e)
		return
	}

	id := appendRawID(make([]byte, 0, 32), liveIDPrefix)
	sess := Session{ID: string(id), Kind: SessionLive, Model: unquote(model), Created: s.now()}
	s.sessions.create(sess, key)
	if !s.holdCreation(r.Context(), sess) {
		return
	}
	b := make([]byte, 0, 128+len(model)+len(answer)+len(answer)/8)
	b = append(b, `{"session":{"id":"`...)
	b = append(b, id...)
	b = append(b, `","model":`...)
	b = append(b, model...)
	b = append(b, `},"transport":{"type":"webrtc","sdp":`...)
	b = appendString(b, answer)
	b = append(b, "}}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	s.setAPIHeaders(h)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

// liveRequest checks a Live creation body and returns session.model (raw
// JSON) and transport.sdp.
func (s *Server) liveRequest(body []byte) (model, offer []byte, e *apiError) {
	if len(body) == 0 || !json.Valid(body) {
		return nil, nil, errNotJSON
	}
	top, err := objectMembers(body)
	if err != nil {
		return nil, nil, errNotObject
	}
	for i := range top {
		if m := &top[i]; !m.is("session") && !m.is("transport") {
			return nil, nil, unknownParameter(m.key())
		}
	}
	sess, ok, e := objectAt(top, "session", "session")
	if e != nil {
		return nil, nil, e
	}
	if !ok {
		return nil, nil, missing("session")
	}
	raw, name, ok, e := stringAt(sess, "model", "session.model")
	switch {
	case e != nil:
		return nil, nil, e
	case !ok:
		return nil, nil, missing("session.model")
	}
	if s.live != nil {
		if _, known := s.live[name]; !known {
			return nil, nil, invalidValue("session.model", name, s.liveOK)
		}
	}
	tr, ok, e := objectAt(top, "transport", "transport")
	if e != nil {
		return nil, nil, e
	}
	if !ok {
		return nil, nil, missing("transport")
	}
	for i := range tr {
		if m := &tr[i]; !m.is("type") && !m.is("sdp") {
			return nil, nil, unknownParameter("transport." + m.key())
		}
	}
	_, typ, ok, e := stringAt(tr, "type", "transport.type")
	switch {
	case e != nil:
		return nil, nil, e
	case !ok:
		return nil, nil, missing("transport.type")
	case typ != "webrtc":
		return nil, nil, invalidValue("transport.type", typ, "'webrtc'")
	}
	_, sdp, ok, e := stringAt(tr, "sdp", "transport.sdp")
	switch {
	case e != nil:
		return nil, nil, e
	case !ok:
		return nil, nil, missing("transport.sdp")
	case sdp == "":
		return nil, nil, &apiError{status: http.StatusBadRequest, param: "transport.sdp", code: "empty_string",
			message: "Invalid 'transport.sdp': empty string. Expected a string with minimum length 1, but got an empty string instead."}
	}
	return raw, []byte(sdp), nil
}

// answerOffer answers the offer sent as param, or says why it cannot.
func answerOffer(offer []byte, param string) (string, *apiError) {
	if !utf8.Valid(offer) {
		return "", invalidSDP(param, errors.New("the SDP is not UTF-8 text"))
	}
	answer, err := answerSDP(string(offer))
	if err != nil {
		return "", invalidSDP(param, err)
	}
	return answer, nil
}

// holdCreation applies Options.AfterCreate, CreateDelay and Latency to a
// created session; false means the request's context ended and nothing
// must be answered.
func (s *Server) holdCreation(ctx context.Context, sess Session) bool {
	if s.afterCreate != nil {
		s.afterCreate(ctx, sess)
		if ctx.Err() != nil {
			return false
		}
	}
	if s.createDelay > 0 && !sleep(ctx, s.createDelay) {
		return false
	}
	return s.wait(ctx)
}

// hangup answers POST .../{id}/hangup: 200 with an empty body when it
// ended a session of kind created with key, 404 for a session it does not
// know, and 400 for a WebRTC GPT-Live session: OpenAI documents the
// hang-up for SIP sessions, and session.close on an attach for WebRTC
// ones.
func (s *Server) hangup(w http.ResponseWriter, kind SessionKind, id, key string) {
	switch s.sessions.hangup(kind, id, key, s.now()) {
	case hangupUnknown:
		writeError(w, notFound(kind, id))
		return
	case hangupWebRTC:
		writeError(w, errWebRTCHangup)
		return
	}
	h := w.Header()
	h.Set("Content-Length", "0")
	s.setAPIHeaders(h)
	w.WriteHeader(http.StatusOK)
}

// setAPIHeaders sets the headers of every successful API answer.
func (s *Server) setAPIHeaders(h http.Header) {
	h.Set("Openai-Version", "2020-10-01")
	h.Set("Openai-Processing-Ms", s.processingMs)
	setCommonHeaders(h)
}

// unquote decodes a raw JSON string; "" if it is not one.
func unquote(raw []byte) string {
	var out string
	_ = json.Unmarshal(raw, &out)
	return out
}
