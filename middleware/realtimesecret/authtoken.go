package realtimesecret

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// The body of Google's POST /v1alpha/auth_tokens (contract.EndpointAuthToken),
// as @google/genai's authTokens.create sends it:
//
//	{"uses":1,"expireTime":"2025-05-01T00:30:00Z","newSessionExpireTime":"2025-05-01T00:01:00Z",
//	 "bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview","generationConfig":{...}},
//	 "fieldMask":"model,generation_config"}
//
// Google's JSON takes each field in lowerCamelCase or snake_case (the
// Python SDK's spelling); a body that names one field both ways is
// refused, as a repeated key is, since two parsers may keep different
// copies. Members other than these are refused: a field the policy does
// not read could widen the token.

// The top-level members, each in its two spellings.
const (
	tkUses = iota * 2
	tkExpire
	tkNewSession
	tkSetup
	tkFieldMask
	nTokenKeys
)

var tokenKeys = []string{
	tkUses: "uses", tkUses + 1: "uses",
	tkExpire: "expireTime", tkExpire + 1: "expire_time",
	tkNewSession: "newSessionExpireTime", tkNewSession + 1: "new_session_expire_time",
	tkSetup: "bidiGenerateContentSetup", tkSetup + 1: "bidi_generate_content_setup",
	tkFieldMask: "fieldMask", tkFieldMask + 1: "field_mask",
}

var setupKeys = []string{"model"}

// modelParams is bidiGenerateContentSetup.model's path in the setup's two
// spellings, joined once rather than at each mint.
var modelParams = [2]string{tokenKeys[tkSetup] + ".model", tokenKeys[tkSetup+1] + ".model"}

// Limits of the policy on a token, beside the principal's.
const (
	// googleDefaultExpire is the token's expireTime when the request
	// names none (Google: 30 minutes).
	googleDefaultExpire = 30 * time.Minute
	// maxNewSessionWindow bounds newSessionExpireTime: a token opens a
	// session within a minute of its mint, Google's default.
	maxNewSessionWindow = time.Minute
	// clockSkew is the leeway given to a time the client computed from
	// its own clock.
	clockSkew = 5 * time.Second
	// modelsPrefix starts Google's model resource names.
	modelsPrefix = "models/"
	// authTokenPrefix starts the name of every auth token.
	authTokenPrefix = "auth_tokens/" //nolint:gosec // G101: a name prefix, not a credential
)

// authTokenBody is a parsed auth token request: where each field the
// policy reads was found, so that normalize rewrites exactly those bytes.
type authTokenBody struct {
	doc  []byte
	root jsonscan.Span

	uses       jsonscan.Member
	usesValue  int64
	usesParam  string
	expire     timeField
	newSession timeField

	model       string          // bare, without "models/"; "" when the token names none
	modelAt     jsonscan.Member // where it was read
	modelPrefix bool            // it was written "models/..."
	modelParam  string          // its path, for errors

	fieldMask      string
	fieldMaskFound bool

	// expiresAt is when the token expires: its expireTime, or the one
	// normalize injects, or Google's default. Set by check.
	expiresAt time.Time
	// inject is the expireTime normalize adds; zero for none.
	inject time.Time
}

// timeField is a timestamp member of the body.
type timeField struct {
	at    jsonscan.Member // absent when not given (or null)
	null  jsonscan.Member // the member when it is null
	value time.Time
	param string
}

// parseAuthToken reads the members of an auth token request the policy
// reads, and checks their types and formats.
func parseAuthToken(doc []byte, b *authTokenBody) *Error {
	*b = authTokenBody{doc: doc}
	if !jsonscan.Valid(doc) {
		return badRequest("the request body must be valid JSON in UTF-8", "", "invalid_json")
	}
	b.root = jsonscan.Root(doc)
	if !jsonscan.IsObject(doc, b.root) {
		return badRequest("the request body must be a JSON object", "", "invalid_json")
	}
	if e := checkTokenMembers(doc, b.root); e != nil {
		return e
	}
	var m [nTokenKeys]jsonscan.Member
	if err := jsonscan.Members(doc, b.root, tokenKeys, m[:]); err != nil {
		return membersError(err, "the request body", "")
	}
	pick := func(k int) (jsonscan.Member, string, *Error) {
		switch a, s := m[k], m[k+1]; {
		case a.Found() && s.Found():
			return jsonscan.Member{}, "", badRequest("the request body names "+tokenKeys[k]+" twice, as "+tokenKeys[k]+" and "+tokenKeys[k+1],
				tokenKeys[k], "duplicate_key")
		case s.Found():
			return s, tokenKeys[k+1], nil
		default:
			return a, tokenKeys[k], nil
		}
	}
	var e *Error
	if b.uses, b.usesParam, e = pick(tkUses); e != nil {
		return e
	}
	if e = b.readUses(); e != nil {
		return e
	}
	for _, f := range []struct {
		k   int
		dst *timeField
	}{{tkExpire, &b.expire}, {tkNewSession, &b.newSession}} {
		at, param, e := pick(f.k)
		if e != nil {
			return e
		}
		if e := b.readTime(at, param, f.dst); e != nil {
			return e
		}
	}
	setup, setupParam, e := pick(tkSetup)
	if e != nil {
		return e
	}
	if e := b.readSetup(setup, setupParam); e != nil {
		return e
	}
	mask, maskParam, e := pick(tkFieldMask)
	if e != nil {
		return e
	}
	if mask.Found() && !jsonscan.IsNull(doc, mask.Value) {
		s, ok := jsonscan.String(doc, mask.Value)
		if !ok {
			return badRequest(maskParam+` must be a string of comma-separated field paths, for example "model,generation_config"`, maskParam, "invalid_type")
		}
		b.fieldMask, b.fieldMaskFound = s, true
		if b.modelAt.Found() && !maskHas(s, "model") {
			// Google takes the fields outside the mask from the
			// connection: the model the policy allowed would not bind.
			return badRequest(maskParam+" must name model when "+b.modelParam+" is set: a model outside the mask is the connection's choice, "+
				"not the token's", maskParam, "model_not_locked")
		}
	}
	return nil
}

// checkTokenMembers refuses a member of the object at root the middleware
// does not know: the first in the body's order. The keys are compared
// where they lie, unescaped ones without a copy; the body is valid JSON.
func checkTokenMembers(doc []byte, root jsonscan.Span) *Error {
	for it := jsonscan.Walk(doc, root); ; {
		key, _, ok := it.Next()
		if !ok {
			return nil
		}
		var name string
		if raw, escaped := jsonscan.Key(doc, key); !escaped {
			if containsBytes(tokenKeys, raw) {
				continue
			}
			name = string(raw)
		} else if name, _ = jsonscan.String(doc, key); contains(tokenKeys, name) {
			continue
		}
		msg := "unknown field " + quote(name) + ": an auth token takes uses, expireTime, newSessionExpireTime, bidiGenerateContentSetup and fieldMask"
		if name == "liveConnectConstraints" || name == "live_connect_constraints" || name == "lockAdditionalFields" || name == "config" {
			msg = quote(name) + " is a name of the SDK's config, not of the API: send the body the SDK sends " +
				"(liveConnectConstraints becomes bidiGenerateContentSetup, lockAdditionalFields fieldMask)"
		}
		return badRequest(msg, name, "unknown_parameter")
	}
}

// containsBytes is contains for a name as written in the body.
func containsBytes(list []string, b []byte) bool {
	for _, s := range list {
		if string(b) == s {
			return true
		}
	}
	return false
}

// readUses reads uses: a whole number.
func (b *authTokenBody) readUses() *Error {
	at := b.uses
	if !at.Found() || jsonscan.IsNull(b.doc, at.Value) {
		b.uses = jsonscan.Member{}
		return nil
	}
	n, err := strconv.ParseInt(string(b.doc[at.Value.Start:at.Value.End]), 10, 32)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return badRequest(b.usesParam+" is out of range: a token opens at most a few sessions", b.usesParam, "invalid_value")
	case err != nil:
		return badRequest(b.usesParam+" must be a whole number", b.usesParam, "invalid_type")
	}
	b.usesValue = n
	return nil
}

// readTime reads a timestamp: an RFC 3339 string, as Google's JSON writes
// a google.protobuf.Timestamp ("2025-05-01T00:30:00Z").
func (b *authTokenBody) readTime(at jsonscan.Member, param string, dst *timeField) *Error {
	dst.param = param
	if !at.Found() {
		return nil
	}
	if jsonscan.IsNull(b.doc, at.Value) {
		dst.null = at
		return nil
	}
	s, ok := jsonscan.String(b.doc, at.Value)
	if !ok {
		return badRequest(param+` must be an RFC 3339 time string, for example "2025-05-01T00:30:00Z"`, param, "invalid_type")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || len(s) < len("2006-01-02T15:04:05Z") || t.Year() < 1970 {
		return badRequest(param+` must be an RFC 3339 time, for example "2025-05-01T00:30:00Z"`, param, "invalid_value")
	}
	dst.at, dst.value = at, t
	return nil
}

// readSetup reads bidiGenerateContentSetup.model.
func (b *authTokenBody) readSetup(setup jsonscan.Member, param string) *Error {
	b.modelParam = modelParams[0]
	if param == tokenKeys[tkSetup+1] {
		b.modelParam = modelParams[1]
	}
	if !setup.Found() || jsonscan.IsNull(b.doc, setup.Value) {
		return nil
	}
	if !jsonscan.IsObject(b.doc, setup.Value) {
		return badRequest(param+" must be an object", param, "invalid_type")
	}
	var m [1]jsonscan.Member
	if err := jsonscan.Members(b.doc, setup.Value, setupKeys, m[:]); err != nil {
		return membersError(err, param, param)
	}
	at := m[0]
	if !at.Found() || jsonscan.IsNull(b.doc, at.Value) {
		return nil
	}
	s, ok := jsonscan.String(b.doc, at.Value)
	if !ok {
		return badRequest(b.modelParam+" must be a string", b.modelParam, "invalid_type")
	}
	model, prefixed := strings.CutPrefix(s, modelsPrefix)
	if model == "" || strings.Contains(model, "/") {
		return badRequest(b.modelParam+` must name a model, for example "models/gemini-live-2.5-flash-preview"`, b.modelParam, "invalid_value")
	}
	b.model, b.modelAt, b.modelPrefix = model, at, prefixed
	return nil
}

// maskHas reports whether the comma-separated field mask names path.
func maskHas(mask, path string) bool {
	for mask != "" {
		var p string
		p, mask, _ = strings.Cut(mask, ",")
		if strings.TrimSpace(p) == path {
			return true
		}
	}
	return false
}

// check applies the principal's policy to the token's lifetime and uses,
// at now: uses from 1 to MaxUses (1 when zero), expireTime in the future
// and within MaxTTL, newSessionExpireTime in the future, within a minute
// and not after expireTime. It sets expiresAt, and the expireTime to
// inject when the request names none and MaxTTL is below Google's default.
func (b *authTokenBody) check(p Principal, now time.Time) *Error {
	maxUses := int64(max(p.MaxUses, 1))
	if b.uses.Found() {
		switch n := b.usesValue; {
		case n == 0:
			return badRequest(b.usesParam+" 0 would let the token open any number of sessions; ask for 1 to "+
				strconv.FormatInt(maxUses, 10), b.usesParam, "invalid_value")
		case n < 0:
			return badRequest(b.usesParam+" must be at least 1", b.usesParam, "invalid_value")
		case n > maxUses:
			return badRequest(b.usesParam+" "+strconv.FormatInt(n, 10)+" is more than the "+strconv.FormatInt(maxUses, 10)+
				" the caller may ask for", b.usesParam, "uses_not_allowed")
		}
	}
	limit := time.Time{}
	if p.MaxTTL > 0 {
		limit = now.Add(p.MaxTTL)
	}
	switch {
	case b.expire.at.Found():
		t := b.expire.value
		if !t.After(now) {
			return badRequest(b.expire.param+" is in the past", b.expire.param, "invalid_value")
		}
		if !limit.IsZero() && t.After(limit.Add(clockSkew)) {
			return badRequest(b.expire.param+" is later than the caller's maximum lifetime of "+p.MaxTTL.String()+" allows",
				b.expire.param, "expire_time_not_allowed")
		}
		b.expiresAt = t
	case !limit.IsZero() && p.MaxTTL < googleDefaultExpire:
		b.inject = limit.UTC().Truncate(time.Second)
		b.expiresAt = b.inject
	default:
		b.expiresAt = now.Add(googleDefaultExpire)
	}
	if b.newSession.at.Found() {
		t := b.newSession.value
		switch {
		case !t.After(now):
			return badRequest(b.newSession.param+" is in the past", b.newSession.param, "invalid_value")
		case t.After(now.Add(maxNewSessionWindow + clockSkew)):
			return badRequest(b.newSession.param+" is more than "+maxNewSessionWindow.String()+" away: a token must open its session within "+
				maxNewSessionWindow.String(), b.newSession.param, "new_session_expire_time_not_allowed")
		case t.After(b.expiresAt):
			return badRequest(b.newSession.param+" is after the token expires", b.newSession.param, "invalid_value")
		}
	}
	return nil
}

// normalize returns the body to forward: the model alias-resolved (with
// "models/" when the client wrote it), and the expireTime check decided
// to inject. Every other byte is the client's.
func (b *authTokenBody) normalize(model string) []byte {
	prefix := ""
	if b.modelPrefix {
		prefix = modelsPrefix
	}
	if b.inject.IsZero() {
		if !b.modelAt.Found() {
			return b.doc
		}
		// The usual body: the model is the one edit, spliced in one
		// allocation.
		at := b.modelAt.Value
		out := make([]byte, 0, len(b.doc)-(at.End-at.Start)+len(prefix)+len(model)+2)
		out = append(out, b.doc[:at.Start]...)
		out = appendJoinedString(out, prefix, model)
		return append(out, b.doc[at.End:]...)
	}
	var edits []jsonscan.Edit
	if b.modelAt.Found() {
		edits = append(edits, jsonscan.Edit{Span: b.modelAt.Value, Text: appendJoinedString(nil, prefix, model)})
	}
	value := jsonscan.AppendString(nil, b.inject.Format(time.RFC3339))
	if b.expire.null.Found() {
		edits = append(edits, jsonscan.Edit{Span: b.expire.null.Value, Text: value})
	} else {
		edits = append(edits, insertInto(b.doc, b.root, append([]byte(`"expireTime":`), value...)))
	}
	return jsonscan.Apply(b.doc, edits)
}

// appendJoinedString appends a+b to dst as one JSON string, the bytes
// jsonscan.AppendString(dst, a+b) appends, without joining them first.
func appendJoinedString(dst []byte, a, b string) []byte {
	dst = jsonscan.AppendString(dst, a)
	mark := len(dst) - 1 // a's closing quote
	dst = jsonscan.AppendString(dst[:mark], b)
	return append(dst[:mark], dst[mark+1:]...) // less b's opening quote
}

var nameKey = []string{"name"}

// authTokenName returns the token a 2xx auth token reply carries: its
// name, "auth_tokens/...". ok is false for a reply that is not a JSON
// object with such a name.
func authTokenName(body []byte) (string, bool) {
	if !jsonscan.Valid(body) {
		return "", false
	}
	root := jsonscan.Root(body)
	var m [1]jsonscan.Member
	if !jsonscan.IsObject(body, root) || jsonscan.Members(body, root, nameKey, m[:]) != nil || !m[0].Found() {
		return "", false
	}
	name, ok := jsonscan.String(body, m[0].Value)
	if !ok || !strings.HasPrefix(name, authTokenPrefix) || len(name) == len(authTokenPrefix) {
		return "", false
	}
	return name, true
}
