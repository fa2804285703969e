package fakexai

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
	// PathClientSecrets is the one route.
	PathClientSecrets = "/v1/realtime/client_secrets"
	// SecretPrefix starts every secret minted, as it starts xAI's.
	SecretPrefix = "xai-realtime-client-secret-" //nolint:gosec // G101: a prefix, not a credential
	// DefaultTTL is a secret's lifetime when the request names none.
	DefaultTTL = 10 * time.Minute
	// MaxTTLSeconds bounds expires_after.seconds.
	MaxTTLSeconds = 3600
	maxBodyBytes  = 1 << 20
)

// Options configures a Server. The zero value accepts any non-empty key.
type Options struct {
	// Keys are the accepted API keys; empty accepts any.
	Keys []string
	// Now is the clock for expires_at; nil means time.Now.
	Now func() time.Time
	// Fault, if set, is called with every request after it is recorded;
	// when it returns true it has answered the request.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// Request is one request the server received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Server is the fake. It is an http.Handler, safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	requests []Request
	minted   []string
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
		out[i] = Request{Method: r.Method, Path: r.Path, Header: r.Header.Clone(), Body: bytes.Clone(r.Body)}
	}
	return out
}

// Count returns how many requests the server received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Minted returns the secrets minted so far.
func (s *Server) Minted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.minted...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if s.opts.Fault != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.opts.Fault(w, r) {
			return
		}
	}
	switch {
	case r.URL.Path != PathClientSecrets:
		writeError(w, http.StatusNotFound, "Not Found", "The requested resource was not found.")
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "Method not allowed.")
		return
	}
	if code, msg := s.authorize(r.Header.Get("Authorization")); code != 0 {
		writeError(w, code, "Client specified an invalid argument", msg)
		return
	}
	switch {
	case err != nil || len(body) > maxBodyBytes:
		writeError(w, http.StatusBadRequest, "Client specified an invalid argument", "Could not read the request body.")
		return
	case !isJSON(r.Header.Get("Content-Type")) || len(body) == 0:
		writeError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type",
			"Expected a JSON body with Content-Type: application/json.")
		return
	}
	ttl, msg := CheckBody(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "Client specified an invalid argument", msg)
		return
	}
	secret := newSecret()
	s.mu.Lock()
	s.minted = append(s.minted, secret)
	s.mu.Unlock()
	exp := s.opts.Now().Add(ttl).Unix()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"value":"`+secret+`","expires_at":`+strconv.FormatInt(exp, 10)+`}`)
}

// authorize returns the status and message of a refused key, or 0.
func (s *Server) authorize(h string) (int, string) {
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || key == "" {
		return http.StatusUnauthorized, "No API key provided. Supply an Authorization: Bearer <XAI_API_KEY> header."
	}
	if len(s.opts.Keys) == 0 {
		return 0, ""
	}
	for _, k := range s.opts.Keys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			return 0, ""
		}
	}
	// xAI masks the key it echoes.
	masked := "***"
	if len(key) > 4 {
		masked = key[:2] + "***" + key[len(key)-2:]
	}
	return http.StatusBadRequest, "Incorrect API key provided: " + masked + ". You can obtain an API key from https://console.x.ai."
}

// CheckBody checks a mint body as the fake reads xAI's reference: a JSON
// object with at most expires_after, which holds at most seconds, a whole
// number from 1 to MaxTTLSeconds. It returns the secret's lifetime, or
// the message of the 400 that refuses the body.
func CheckBody(body []byte) (time.Duration, string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return 0, "Failed to deserialize the JSON body into the target type: expected an object."
	}
	for name := range top {
		if name != "expires_after" {
			return 0, "Failed to deserialize the JSON body into the target type: unknown field `" + name + "`, expected `expires_after`."
		}
	}
	raw, ok := top["expires_after"]
	if !ok || string(raw) == "null" {
		return DefaultTTL, ""
	}
	var exp map[string]json.RawMessage
	if json.Unmarshal(raw, &exp) != nil || exp == nil {
		return 0, "Failed to deserialize the JSON body into the target type: expires_after: expected an object."
	}
	for name := range exp {
		if name != "seconds" {
			return 0, "Failed to deserialize the JSON body into the target type: expires_after: unknown field `" + name + "`, expected `seconds`."
		}
	}
	sec, ok := exp["seconds"]
	if !ok || string(sec) == "null" {
		return DefaultTTL, ""
	}
	n, err := strconv.ParseInt(string(sec), 10, 64)
	if err != nil {
		return 0, "Failed to deserialize the JSON body into the target type: expires_after.seconds: expected an integer."
	}
	if n < 1 || n > MaxTTLSeconds {
		return 0, "expires_after.seconds must be between 1 and " + strconv.Itoa(MaxTTLSeconds) + "."
	}
	return time.Duration(n) * time.Second, ""
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

func newSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return SecretPrefix + hex.EncodeToString(b)
}

// writeError answers in xAI's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}{code, msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
