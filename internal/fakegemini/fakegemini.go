package fakegemini

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Paths and limits of the fake.
const (
	// PathAuthTokens is the one route.
	PathAuthTokens = "/v1alpha/auth_tokens"
	// TokenPrefix starts every token name.
	TokenPrefix = "auth_tokens/" //nolint:gosec // G101: a name prefix, not a credential
	// DefaultExpire is a token's lifetime without expireTime.
	DefaultExpire = 30 * time.Minute
	// DefaultNewSession is the new-session window without
	// newSessionExpireTime.
	DefaultNewSession = time.Minute
	// MaxAhead bounds both times: Google refuses 20 hours or more.
	MaxAhead     = 20 * time.Hour
	maxBodyBytes = 1 << 20
)

// Options configures a Server. The zero value accepts any non-empty key
// and any model.
type Options struct {
	// Keys are the accepted API keys; empty accepts any.
	Keys []string
	// Models, if set, are the only models a token may be constrained to
	// (without "models/").
	Models []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Fault, if set, is called with every request after it is recorded;
	// when it returns true it has answered the request.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// Request is one request the server received.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Token is a token the server minted, with what it allows.
type Token struct {
	Name          string
	Uses          int // 0: no limit
	Expire        time.Time
	NewSession    time.Time
	Model         string // "" when unconstrained
	FieldMask     string
	HasSetup      bool
	Setup         json.RawMessage
	RequestedKeys []string // the body's member names, as sent
}

// Server is the fake. It is an http.Handler, safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	requests []Request
	tokens   []Token
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{opts: opts}
}

// Requests returns copies of the requests received, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header, r.Body = r.Header.Clone(), bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Count returns how many requests the server received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Tokens returns the tokens minted so far.
func (s *Server) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Token(nil), s.tokens...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if s.opts.Fault != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.opts.Fault(w, r) {
			return
		}
	}
	switch {
	case r.URL.Path != PathAuthTokens:
		WriteError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	case r.Method != http.MethodPost:
		WriteError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	if key == "" {
		WriteError(w, http.StatusForbidden, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). "+
			"Please use API Key or other form of API consumer identity to call this API.")
		return
	}
	if !s.known(key) {
		WriteError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
		return
	}
	if err != nil || len(body) > maxBodyBytes {
		WriteError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Could not read the request body.")
		return
	}
	tok, msg := Check(body, s.opts.Now(), s.opts.Models)
	if msg != "" {
		WriteError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	tok.Name = TokenPrefix + newID()
	s.mu.Lock()
	s.tokens = append(s.tokens, tok)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = io.WriteString(w, `{"name":"`+tok.Name+`"}`)
}

func (s *Server) known(key string) bool {
	if len(s.opts.Keys) == 0 {
		return true
	}
	for _, k := range s.opts.Keys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			return true
		}
	}
	return false
}

// fields are the AuthToken fields a request may set, by JSON name.
var fields = map[string]string{
	"uses": "uses", "expireTime": "expire_time", "expire_time": "expire_time",
	"newSessionExpireTime": "new_session_expire_time", "new_session_expire_time": "new_session_expire_time",
	"bidiGenerateContentSetup": "bidi_generate_content_setup", "bidi_generate_content_setup": "bidi_generate_content_setup",
	"fieldMask": "field_mask", "field_mask": "field_mask",
	"name": "name",
}

// Check checks an AuthToken request body at now as Google does, and
// returns the token it asks for, or the message of the 400 that refuses
// it. With models, a constrained model must be one of them.
func Check(body []byte, now time.Time, models []string) (Token, string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return Token{}, "Invalid JSON payload received. Expected an object."
	}
	tok := Token{Uses: 1, Expire: now.Add(DefaultExpire), NewSession: now.Add(DefaultNewSession)}
	seen := map[string]string{}
	for name, raw := range top {
		field, ok := fields[name]
		if !ok {
			return Token{}, `Invalid JSON payload received. Unknown name "` + name + `": Cannot find field.`
		}
		if other, dup := seen[field]; dup {
			return Token{}, `Invalid JSON payload received. Field "` + field + `" set twice, as "` + other + `" and "` + name + `".`
		}
		seen[field] = name
		tok.RequestedKeys = append(tok.RequestedKeys, name)
		if string(raw) == "null" {
			continue
		}
		var msg string
		switch field {
		case "uses":
			tok.Uses, msg = int32Value(name, raw)
			if msg == "" && tok.Uses < 0 {
				msg = "uses must not be negative."
			}
		case "expire_time":
			tok.Expire, msg = timeValue(name, raw, now)
		case "new_session_expire_time":
			tok.NewSession, msg = timeValue(name, raw, now)
		case "bidi_generate_content_setup":
			msg = tok.setup(name, raw, models)
		case "field_mask":
			if json.Unmarshal(raw, &tok.FieldMask) != nil {
				msg = `Invalid value at '` + name + `' (type.googleapis.com/google.protobuf.FieldMask), expected a string.`
			}
		case "name":
			msg = "name is output only."
		}
		if msg != "" {
			return Token{}, msg
		}
	}
	return tok, ""
}

// int32Value reads an int32 as Google's JSON does: a number, or a string
// holding one.
func int32Value(name string, raw json.RawMessage) (int, string) {
	s := string(raw)
	if unq, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		s = unq
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, `Invalid value at '` + name + `' (TYPE_INT32), ` + string(raw)
	}
	return int(n), ""
}

// timeValue reads a google.protobuf.Timestamp: an RFC 3339 string, in the
// future and less than MaxAhead away.
func timeValue(name string, raw json.RawMessage, now time.Time) (time.Time, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, `Invalid value at '` + name + `' (type.googleapis.com/google.protobuf.Timestamp), ` + string(raw)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		return time.Time{}, `Invalid value at '` + name + `' (type.googleapis.com/google.protobuf.Timestamp), Field '` + name + `', Invalid time format`
	case !t.After(now):
		return time.Time{}, name + " must be in the future."
	case !t.Before(now.Add(MaxAhead)):
		return time.Time{}, name + " must be less than 20 hours in the future."
	}
	return t, ""
}

// setup reads bidiGenerateContentSetup.
func (tok *Token) setup(name string, raw json.RawMessage, models []string) string {
	var setup map[string]json.RawMessage
	if json.Unmarshal(raw, &setup) != nil || setup == nil {
		return `Invalid value at '` + name + `' (type.googleapis.com/google.ai.generativelanguage.v1alpha.BidiGenerateContentSetup), ` + string(raw)
	}
	tok.HasSetup, tok.Setup = true, bytes.Clone(raw)
	m, ok := setup["model"]
	if !ok || string(m) == "null" {
		return ""
	}
	var model string
	if json.Unmarshal(m, &model) != nil {
		return `Invalid value at '` + name + `.model' (TYPE_STRING), ` + string(m)
	}
	bare, prefixed := strings.CutPrefix(model, "models/")
	if !prefixed || bare == "" {
		return "* BidiGenerateContentRequest.model: [FIELD_INVALID] Invalid resource field value in the request."
	}
	if len(models) > 0 && !contains(models, bare) {
		return "models/" + bare + " is not found for API version v1alpha, or is not supported for bidiGenerateContent."
	}
	tok.Model = bare
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteError answers in Google's error shape.
func WriteError(w http.ResponseWriter, code int, status, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
