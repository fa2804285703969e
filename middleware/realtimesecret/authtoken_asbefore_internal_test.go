package realtimesecret

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// The tests below hold the auth token parser and normalize to the answers
// of the versions that read the members with encoding/json (kept below as
// they were, jsonParseAuthToken and jsonNormalize): the same refusal, the
// same fields read, the same bytes forwarded. One answer was not fixed:
// with several unknown members, encoding/json's map named any one of
// them; checkTokenMembers names the first in the body.

// tokenMemberBodies are the bodies whose answers are kept: repeated and
// escaped keys, both spellings, unknown members (one and several, the
// SDK's config names), types where others are expected, nesting, huge
// numbers.
var tokenMemberBodies = append(slices.Clone(authTokenSeeds),
	`{"us\u0065s":1,"expir\u0065Time":"2030-01-02T03:30:00Z"}`, `{"uses":1,"us\u0065s":1}`,
	`{"bidi_generate_content_setup":{"model":7}}`, `{"bidiGenerateContentSetup":{"model":7}}`,
	`{"bidi_generate_content_setup":{"model":"models/"}}`, `{"bidi_generate_content_setup":{"model":"a/b"}}`,
	`{"bidiGenerateContentSetup":{"m\u006fdel":"models/x","model":"y"}}`, `{"bidiGenerateContentSetup":{"model":null,"other":1}}`,
	`{"bidi_generate_content_setup":{"model":"models/live"},"field_mask":"generation_config"}`,
	`{"unlimited":true}`, `{"liveConnectConstraints":{"model":"x"}}`, `{"live_connect_constraints":1}`,
	`{"lockAdditionalFields":[]}`, `{"config":{}}`, `{"unkn\u006fwn":1}`, `{"\ud800":1}`, `{"a\"b":1}`, `{"":1}`,
	`{"uses":1,"x":1,"y":2}`, `{"x":1,"uses":1,"x":2}`, `{"config":1,"z":2,"a":3}`, `{"uses":1,"uses":1,"x":1}`,
	`{"expireTime":"2030-01-02T03:10:00Z","expire_time":null,"x":1}`,
	`{"uses":99999999999999999999999}`, `{"uses":1e400}`, `{"uses":-0}`, `{"uses":"1"}`, `{"uses":[1]}`,
	`{"fieldMask":7}`, `{"field_mask":"model","bidi_generate_content_setup":{"model":"live"}}`,
	`{"bidiGenerateContentSetup":{"model":"live","generationConfig":`+strings.Repeat(`[`, 9000)+strings.Repeat(`]`, 9000)+`}}`,
	`{"x":`+strings.Repeat(`{"a":`, 300)+`1`+strings.Repeat(`}`, 300)+`}`,
	` { "uses" : 1 , "bidiGenerateContentSetup" : { "model" : "models/live" } } `,
)

func TestParseAuthTokenAsBefore(t *testing.T) {
	for _, body := range tokenMemberBodies {
		parseAsBefore(t, []byte(body), "gemini-x", 600)
	}
}

// FuzzParseAuthTokenAsBefore: on any body, the parser refuses as before,
// or reads what it read before and forwards the same bytes.
func FuzzParseAuthTokenAsBefore(f *testing.F) {
	for _, body := range tokenMemberBodies {
		f.Add([]byte(body), "gemini-x", int64(600))
		f.Add([]byte(body), "a\"b\u2028", int64(0))
	}
	f.Fuzz(parseAsBefore)
}

func parseAsBefore(t *testing.T, doc []byte, model string, maxTTL int64) {
	var got, want authTokenBody
	e, wantE := parseAuthToken(doc, &got), jsonParseAuthToken(doc, &want)
	if wantE != nil && wantE.Code == "unknown_parameter" {
		// Any unknown member was the answer: the new one is the first
		// in the body, as encoding/json's map might have named.
		require.NotNil(t, e, "%q", doc)
		require.Equal(t, unknownMembers(t, doc)[0], e.Param, "%q", doc)
		one, err := json.Marshal(map[string]int{e.Param: 0})
		require.NoError(t, err)
		require.Equal(t, jsonCheckTokenMembers(one), e, "%q", doc)
		return
	}
	require.Equal(t, wantE, e, "%q", doc)
	if e != nil {
		return
	}
	require.Equal(t, want, got, "%q", doc)
	p := Principal{MaxTTL: time.Duration(maxTTL%7200) * time.Second}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if p.MaxTTL < 0 || got.check(p, now) != nil || want.check(p, now) != nil {
		return
	}
	require.Equal(t, string(jsonNormalize(&want, model)), string(got.normalize(model)), "%q", doc)
}

// unknownMembers returns the names of the members of the object doc that
// are not tokenKeys, decoded, in the body's order.
func unknownMembers(t *testing.T, doc []byte) []string {
	t.Helper()
	var names []string
	for it := jsonscan.Walk(doc, jsonscan.Root(doc)); ; {
		key, _, ok := it.Next()
		if !ok {
			return names
		}
		var name string
		require.NoError(t, json.Unmarshal(doc[key.Start:key.End], &name))
		if !contains(tokenKeys, name) {
			names = append(names, name)
		}
	}
}

// TestTokenMembersFirstUnknown: of several unknown members, the first in
// the body is named; the SDK's config names are explained; an escaped
// known name is known.
func TestTokenMembersFirstUnknown(t *testing.T) {
	var b authTokenBody
	e := parseAuthToken([]byte(`{"uses":1,"z":1,"config":{},"a":2}`), &b)
	require.NotNil(t, e)
	assert.Equal(t, "z", e.Param)
	assert.Equal(t, `unknown field "z": an auth token takes uses, expireTime, newSessionExpireTime, bidiGenerateContentSetup and fieldMask`, e.Message)
	e = parseAuthToken([]byte(`{"c\u006fnfig":{},"z":1}`), &b)
	require.NotNil(t, e)
	assert.Equal(t, "config", e.Param)
	assert.Contains(t, e.Message, `"config" is a name of the SDK's config`)
	require.Nil(t, parseAuthToken([]byte(`{"us\u0065s":1,"bidi_generate_content_setup":{"model":"live"}}`), &b))
	assert.Equal(t, "bidi_generate_content_setup.model", b.modelParam)
	e = parseAuthToken([]byte(`{"bidi_generate_content_setup":{"model":7}}`), &b)
	require.NotNil(t, e)
	assert.Equal(t, "bidi_generate_content_setup.model", e.Param)
}

// jsonParseAuthToken and the functions below are the versions that read
// the members with encoding/json, as they were.

// jsonParseAuthToken is parseAuthToken as it was: it reads the members of an auth token request the policy
// reads, and checks their types and formats.
func jsonParseAuthToken(doc []byte, b *authTokenBody) *Error {
	*b = authTokenBody{doc: doc}
	if !jsonscan.Valid(doc) {
		return badRequest("the request body must be valid JSON in UTF-8", "", "invalid_json")
	}
	b.root = jsonscan.Root(doc)
	if !jsonscan.IsObject(doc, b.root) {
		return badRequest("the request body must be a JSON object", "", "invalid_json")
	}
	if e := jsonCheckTokenMembers(doc); e != nil {
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
	if e := jsonReadSetup(b, setup, setupParam); e != nil {
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

// jsonCheckTokenMembers is checkTokenMembers as it was: it refuses a member the middleware does not know.
func jsonCheckTokenMembers(doc []byte) *Error {
	var all map[string]json.RawMessage
	if json.Unmarshal(doc, &all) != nil {
		return badRequest("the request body must be a JSON object", "", "invalid_json")
	}
	for name := range all {
		if contains(tokenKeys, name) {
			continue
		}
		msg := "unknown field " + quote(name) + ": an auth token takes uses, expireTime, newSessionExpireTime, bidiGenerateContentSetup and fieldMask"
		if name == "liveConnectConstraints" || name == "live_connect_constraints" || name == "lockAdditionalFields" || name == "config" {
			msg = quote(name) + " is a name of the SDK's config, not of the API: send the body the SDK sends " +
				"(liveConnectConstraints becomes bidiGenerateContentSetup, lockAdditionalFields fieldMask)"
		}
		return badRequest(msg, name, "unknown_parameter")
	}
	return nil
}

// jsonReadSetup is readSetup as it was: it reads bidiGenerateContentSetup.model.
func jsonReadSetup(b *authTokenBody, setup jsonscan.Member, param string) *Error {
	b.modelParam = param + ".model"
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

// jsonNormalize is normalize as it was: it returns the body to forward: the model alias-resolved (with
// "models/" when the client wrote it), and the expireTime check decided
// to inject. Every other byte is the client's.
func jsonNormalize(b *authTokenBody, model string) []byte {
	var edits []jsonscan.Edit
	if b.modelAt.Found() {
		if b.modelPrefix {
			model = modelsPrefix + model
		}
		edits = append(edits, jsonscan.Edit{Span: b.modelAt.Value, Text: jsonscan.AppendString(nil, model)})
	}
	if !b.inject.IsZero() {
		value := jsonscan.AppendString(nil, b.inject.Format(time.RFC3339))
		if b.expire.null.Found() {
			edits = append(edits, jsonscan.Edit{Span: b.expire.null.Value, Text: value})
		} else {
			edits = append(edits, insertInto(b.doc, b.root, append([]byte(`"expireTime":`), value...)))
		}
	}
	if len(edits) == 0 {
		return b.doc
	}
	return jsonscan.Apply(b.doc, edits)
}
