package realtimesecret

import (
	"strconv"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// replyKeys are the members of a mint reply that hold the token: at the top
// of a GA reply, inside client_secret of a beta one.
var replyKeys = []string{"value", "expires_at", "client_secret"}

// mintedToken returns the token a 2xx mint reply carries and its expiry in
// unix seconds: value and expires_at at the top (GA), else inside
// client_secret (beta). ok is false unless one of the two places has a
// non-empty string value and a positive integer expires_at.
//
// It reads the reply as encoding/json would decode it into {value *string;
// expires_at int64; client_secret *{value *string; expires_at int64}}, at a
// fraction of the cost: null counts as absent, and a member of another type
// makes the whole reply unusable. Unlike encoding/json, and like the client
// that parses the reply and tokenSpan, it matches names exactly; and a
// reply that repeats one of them, or holds invalid UTF-8, is unusable, as
// the token stored must be the one the client reads.
func mintedToken(body []byte) (token string, expiresAt int64, ok bool) {
	if !jsonscan.Valid(body) {
		return "", 0, false
	}
	root := jsonscan.Root(body)
	if !jsonscan.IsObject(body, root) {
		return "", 0, false
	}
	var top, inner [3]jsonscan.Member
	if jsonscan.Members(body, root, replyKeys, top[:]) != nil {
		return "", 0, false
	}
	token, expiresAt, ok = secretMembers(body, top[0], top[1])
	if !ok {
		return "", 0, false
	}
	if cs := top[2]; cs.Found() && !jsonscan.IsNull(body, cs.Value) {
		if !jsonscan.IsObject(body, cs.Value) || jsonscan.Members(body, cs.Value, replyKeys[:2], inner[:2]) != nil {
			return "", 0, false
		}
	}
	innerToken, innerExpiresAt, ok := secretMembers(body, inner[0], inner[1])
	switch {
	case !ok:
		return "", 0, false
	case token != "" && expiresAt > 0:
		return token, expiresAt, true
	case innerToken != "" && innerExpiresAt > 0:
		return innerToken, innerExpiresAt, true
	}
	return "", 0, false
}

// secretMembers reads a value (string or null) and an expires_at (integer
// or null); ok is false when either has another type.
func secretMembers(body []byte, value, expiresAt jsonscan.Member) (string, int64, bool) {
	var token string
	if value.Found() && !jsonscan.IsNull(body, value.Value) {
		s, ok := jsonscan.String(body, value.Value)
		if !ok {
			return "", 0, false
		}
		token = s
	}
	var at int64
	if expiresAt.Found() && !jsonscan.IsNull(body, expiresAt.Value) {
		// encoding/json decodes an int64 with ParseInt too: a fraction, an
		// exponent, a string or a bool is a type error.
		n, err := strconv.ParseInt(string(body[expiresAt.Value.Start:expiresAt.Value.End]), 10, 64)
		if err != nil {
			return "", 0, false
		}
		at = n
	}
	return token, at, true
}

// sealBody returns the upstream body with the token's value replaced by its
// sealed form; every other byte is the upstream's.
func sealBody(s *sealer, body []byte, token string, rec *Record) ([]byte, error) {
	sealed, err := s.seal(token, rec)
	if err != nil {
		return nil, err
	}
	at, ok := tokenSpan(body, token)
	if !ok {
		return nil, errSealedMalformed
	}
	return jsonscan.Apply(body, []jsonscan.Edit{{Span: at, Text: jsonscan.AppendString(nil, sealed)}}), nil
}

var (
	secretKeys = []string{"value", "client_secret"}
	valueKey   = []string{"value"}
)

// tokenSpan finds the JSON string holding token: value or
// client_secret.value, whichever mintedSecret took it from.
func tokenSpan(body []byte, token string) (jsonscan.Span, bool) {
	var top [2]jsonscan.Member
	if jsonscan.Members(body, jsonscan.Root(body), secretKeys, top[:]) != nil {
		return jsonscan.Span{}, false
	}
	if s, ok := jsonscan.String(body, top[0].Value); ok && top[0].Found() && s == token {
		return top[0].Value, true
	}
	cs := top[1]
	if !cs.Found() || !jsonscan.IsObject(body, cs.Value) {
		return jsonscan.Span{}, false
	}
	var inner [1]jsonscan.Member
	if jsonscan.Members(body, cs.Value, valueKey, inner[:]) != nil {
		return jsonscan.Span{}, false
	}
	if s, ok := jsonscan.String(body, inner[0].Value); ok && inner[0].Found() && s == token {
		return inner[0].Value, true
	}
	return jsonscan.Span{}, false
}
