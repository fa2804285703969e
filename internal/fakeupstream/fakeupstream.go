package fakeupstream

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paths served by the OpenAI flavor.
const (
	PathClientSecrets            = "/v1/realtime/client_secrets"
	PathTranslationClientSecrets = "/v1/realtime/translations/client_secrets"
	PathSessions                 = "/v1/realtime/sessions"
	PathTranscriptionSessions    = "/v1/realtime/transcription_sessions"
	PathHealth                   = "/healthz"

	// PathCalls creates a Realtime WebRTC call (multipart, or a raw SDP
	// offer with a minted "ek_" key).
	PathCalls = "/v1/realtime/calls"
	// PathLiveSessions creates a GPT-Live session (JSON).
	PathLiveSessions = "/v1/live/sessions"
	// PathCallHangup and PathLiveSessionHangup are the hang-up routes, with
	// the id's place marked: they name the route in LastRequest, and are not
	// paths a request is sent to.
	PathCallHangup        = "/v1/realtime/calls/{call_id}/hangup"
	PathLiveSessionHangup = "/v1/live/sessions/{session_id}/hangup"
)

// Defaults and limits.
const (
	// DefaultTTL is the lifetime of a secret whose request asks for none
	// (OpenAI's default, 600 s).
	DefaultTTL = 10 * time.Minute
	// MinTTLSeconds and MaxTTLSeconds bound a lifetime asked for in a request.
	MinTTLSeconds = 10
	MaxTTLSeconds = 7200
	// DefaultMaxRequests is how many requests the log keeps by default.
	DefaultMaxRequests = 1024
	// DefaultMaxBodyBytes is the default request body limit.
	DefaultMaxBodyBytes = 1 << 20
	// SecretPrefix starts every minted value.
	SecretPrefix = "ek_"
)

// Flavor selects which provider's API the server imitates: its routes and
// where it reads the caller's key.
type Flavor int

const (
	// OpenAI serves the /v1/realtime/... routes and reads the key from
	// "Authorization: Bearer <key>".
	OpenAI Flavor = iota
)

// Options configures a Server. The zero value is a usable OpenAI fake that
// accepts any non-empty key.
type Options struct {
	// Flavor is the API imitated. Zero is OpenAI.
	Flavor Flavor

	// Keys are the accepted API keys. If empty, any non-empty key is
	// accepted. A missing or unknown key is answered 401.
	Keys []string

	// Models, if not empty, are the only realtime models accepted
	// (session.model for GA and translation, model for beta sessions); any
	// other is answered 400 invalid_value, like OpenAI does for an unknown
	// model. Transcription models are not checked.
	Models []string

	// TTL is the lifetime of a secret whose request asks for none. Zero
	// means DefaultTTL; a negative TTL mints secrets that are already
	// expired. A lifetime in the request always wins, as with OpenAI.
	TTL time.Duration

	// Now returns the current time, for expires_at and Request.Time. If nil,
	// time.Now is used.
	Now func() time.Time

	// LiveModels, if not empty, are the only models a GPT-Live session may
	// ask for (session.model); any other is answered 400 invalid_value.
	// Models does not apply to Live sessions.
	LiveModels []string

	// Latency, if positive, delays every mint and session answer (not
	// errors, not the fault hook, not /healthz), to mimic a remote upstream
	// in benchmarks and the demo. The wait ends early when the request's
	// context ends.
	Latency time.Duration

	// CreateDelay, if positive, holds the answer to every session creation
	// (a call or a Live session) for this long after the session was
	// created and counted: an upstream that times out after creating the
	// session, for retry tests. The wait ends early when the request's
	// context ends, and then nothing is answered.
	CreateDelay time.Duration

	// AfterCreate, if set, is called with every session created, once it
	// is counted and before CreateDelay and the answer. It may block (until
	// ctx, the request's context, ends) to hold this one answer; if ctx has
	// ended when it returns, nothing is answered.
	AfterCreate func(ctx context.Context, sess Session)

	// Sideband is what the sidebands of calls and Live sessions emit
	// (GET /v1/realtime?call_id=..., /v1/live/sessions/{id}/attach). The
	// zero value is the demo's script: usage every second.
	Sideband SidebandScript

	// MaxRequests is how many requests the log keeps (the most recent
	// ones). Zero means DefaultMaxRequests; negative disables recording
	// (Count still counts).
	MaxRequests int

	// MaxBodyBytes limits the request body; a larger one is answered 413.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// ServeBeta answers the beta routes (/v1/realtime/sessions and
	// /v1/realtime/transcription_sessions) as OpenAI did before it
	// switched the beta API off, like an OpenAI-compatible vendor that
	// still serves them. False answers them, once the key is accepted,
	// with OpenAI's 400 beta_api_shape_disabled, as OpenAI does now.
	ServeBeta bool

	// Fault, if set, is called for every request after it is recorded and
	// before anything else. If it returns true it has answered the request
	// and the server does nothing more. The request body can be read again
	// in Fault. Use it to simulate failing, slow or malformed upstreams.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// Server is the fake upstream. It is an http.Handler, safe for concurrent
// use; its configuration does not change after New.
type Server struct {
	flavor  *flavor
	keys    [][]byte
	models  map[string]struct{}
	allowed string // "'a' and 'b'", for the invalid model message
	live    map[string]struct{}
	liveOK  string // the allowed Live models, for the invalid model message
	ttl     time.Duration
	now     func() time.Time
	latency time.Duration
	maxBody int64
	beta    bool // Options.ServeBeta
	fault   func(http.ResponseWriter, *http.Request) bool
	log     requestLog

	createDelay time.Duration
	afterCreate func(context.Context, Session)
	sessions    sessionTable
	script      SidebandScript
	secretKey   [32]byte // keys the tag of minted secrets (secret.go)

	processingMs string // Openai-Processing-Ms header value
}

var _ http.Handler = (*Server)(nil)

// flavor is what differs between imitated providers.
type flavor struct {
	routes map[string]endpoint
	// credential returns the key the caller presented, "" if none.
	credential func(h http.Header) string
	// missingKey is the 401 message for a request without a key.
	missingKey string
}

var flavors = map[Flavor]*flavor{
	OpenAI: {
		routes: map[string]endpoint{
			PathClientSecrets:            gaClientSecret,
			PathTranslationClientSecrets: gaTranslation,
			PathSessions:                 betaSession,
			PathTranscriptionSessions:    betaTranscription,
		},
		credential: bearer,
		missingKey: "You didn't provide an API key. You need to provide your API key in an Authorization header " +
			"using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
	},
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h http.Header) string {
	v := h.Get("Authorization")
	const scheme = "Bearer "
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return ""
	}
	return strings.TrimSpace(v[len(scheme):])
}

// New returns a Server configured by opts. It panics ("fakeupstream: ...")
// on an unknown Flavor.
func New(opts Options) *Server {
	fl, ok := flavors[opts.Flavor]
	if !ok {
		panic(fmt.Sprintf("fakeupstream: unknown Flavor %d", opts.Flavor))
	}
	s := &Server{
		flavor:  fl,
		ttl:     opts.TTL,
		now:     opts.Now,
		latency: opts.Latency,
		maxBody: opts.MaxBodyBytes,
		beta:    opts.ServeBeta,
		fault:   opts.Fault,

		createDelay: opts.CreateDelay,
		afterCreate: opts.AfterCreate,
		script:      opts.Sideband,
	}
	s.script.Responses = slices.Clone(s.script.Responses)
	s.script.LiveSeconds = slices.Clone(s.script.LiveSeconds)
	if s.script.Every == 0 && len(s.script.Responses) == 0 && len(s.script.LiveSeconds) == 0 {
		s.script.Every = DefaultEvery
	}
	s.sessions.shutdown = make(chan struct{})
	randomBytes(s.secretKey[:])
	for _, k := range opts.Keys {
		s.keys = append(s.keys, []byte(k))
	}
	s.models, s.allowed = modelSet(opts.Models)
	s.live, s.liveOK = modelSet(opts.LiveModels)
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.processingMs = strconv.FormatInt(max(s.latency, 0).Milliseconds(), 10)
	s.log.max = opts.MaxRequests
	if s.log.max == 0 {
		s.log.max = DefaultMaxRequests
	}
	return s
}

// modelSet returns models as a set (nil when empty) and as a list for the
// invalid model message.
func modelSet(models []string) (map[string]struct{}, string) {
	if len(models) == 0 {
		return nil, ""
	}
	set := make(map[string]struct{}, len(models))
	quoted := make([]string, len(models))
	for i, m := range models {
		set[m] = struct{}{}
		quoted[i] = "'" + m + "'"
	}
	return set, joinList(quoted)
}

// joinList writes "a", "a and b" or "a, b, and c".
func joinList(items []string) string {
	switch len(items) {
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}

// ServeHTTP records the request, gives it to the fault hook, then answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, readErr := readBody(r.Body, s.maxBody)
	now := s.now()
	s.log.add(r, body, now)
	if s.fault != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.fault(w, r) {
			return
		}
	}

	if r.URL.Path == PathHealth {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, errMethod)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	if path, azure := azureSessionPath(r.URL.Path); true {
		if rt, id := sidebandRoute(path, r.URL.RawQuery); rt != notSideband {
			s.serveSideband(w, r, rt, id, azure)
			return
		}
		if rt, id := sessionRoute(path); rt != notSession {
			s.serveSession(w, r, rt, id, body, tooLarge, readErr, azure)
			return
		}
	}
	ep, ok := s.flavor.routes[r.URL.Path]
	if !ok {
		writeError(w, &apiError{
			status:  http.StatusNotFound,
			message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")",
		})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, errMethod)
		return
	}
	if e := s.authorize(r.Header); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case tooLarge:
		writeError(w, errTooLarge)
		return
	case readErr != nil:
		writeError(w, errUnreadable)
		return
	case (ep == betaSession || ep == betaTranscription) && !s.beta:
		writeError(w, errBetaDisabled)
		return
	}

	out, e := s.mint(ep, body, now)
	if e != nil {
		writeError(w, e)
		return
	}
	if !s.wait(r.Context()) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Openai-Version", "2020-10-01")
	h.Set("Openai-Processing-Ms", s.processingMs)
	setCommonHeaders(h)
	_, _ = w.Write(out)
}

// authorize checks the caller's key; nil means accepted.
func (s *Server) authorize(h http.Header) *apiError {
	return s.authorizeKey(s.flavor.credential(h))
}

// authorizeKey checks a key the caller presented; nil means accepted.
func (s *Server) authorizeKey(key string) *apiError {
	if key == "" {
		return &apiError{status: http.StatusUnauthorized, message: s.flavor.missingKey, code: "invalid_api_key"}
	}
	if len(s.keys) == 0 {
		return nil
	}
	kb := []byte(key)
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(kb, k) == 1 {
			return nil
		}
	}
	// OpenAI echoes a redacted key; echoing none is safer and just as useful.
	return &apiError{status: http.StatusUnauthorized, message: "Incorrect API key provided.", code: "invalid_api_key"}
}

// wait applies Options.Latency; false means the request's context ended.
func (s *Server) wait(ctx context.Context) bool {
	if s.latency <= 0 {
		return true
	}
	return sleep(ctx, s.latency)
}

// sleep waits for d; false means ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readBody reads at most limit bytes of b. tooLarge reports that more was
// sent; the bytes returned are then the first limit ones.
func readBody(b io.Reader, limit int64) (body []byte, tooLarge bool, err error) {
	if b == nil || b == http.NoBody {
		return nil, false, nil
	}
	lr := io.LimitReader(b, limit+1)
	buf := make([]byte, 0, 512)
	for {
		n, rerr := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = rerr
			}
			break
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	if int64(len(buf)) > limit {
		return buf[:limit], true, err
	}
	return buf, false, err
}
