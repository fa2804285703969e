package xai

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// CodeUnsupportedSessionSetting is the error.code of the 400 answered for
// a mint whose body asks for what an xAI secret cannot carry: session
// settings, another expiry anchor, members xAI does not know.
const CodeUnsupportedSessionSetting = "unsupported_session_setting"

// clientSecretBody returns the body xAI is sent for body, the
// middleware's normalized GA mint body ({"session":{...},
// "expires_after":{...}}): {"expires_after":{"seconds":N}}, or {} when it
// names no expiry. session.type "realtime" and session.model are the
// middleware's (it read them for the policy) and expires_after.anchor
// "created_at" is what xAI does anyway; anything else is refused with a
// 400 that names it. The body returned must not be modified.
//
// It reads body where it lies with jsonscan, allocating nothing for a
// body it accepts with the expiry of the mint before (expiryBody), and
// answers as decoding it with encoding/json into maps did: keys are
// compared unescaped, a repeated member's last value counts, names are
// refused sorted and once each, and a body encoding/json takes (invalid
// UTF-8 too, which the middleware never forwards) is read.
func clientSecretBody(body []byte) ([]byte, *contract.Error) {
	root := jsonscan.Root(body)
	if !validJSON(body) || !jsonscan.IsObject(body, root) {
		return nil, refuse("", "the request body must be a JSON object")
	}
	var session, expiry jsonscan.Span
	var unknown []string
	for it := jsonscan.Walk(body, root); ; {
		key, v, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case keyIs(body, key, "session"):
			session = v
		case keyIs(body, key, "expires_after"):
			expiry = v
		default:
			unknown = append(unknown, keyName(body, key))
		}
	}
	if len(unknown) > 0 {
		return nil, refuseAll(unknown, "xAI's client secrets take expires_after.seconds only; ")
	}
	if e := checkSession(body, session); e != nil {
		return nil, e
	}
	seconds, e := expirySeconds(body, expiry)
	switch {
	case e != nil:
		return nil, e
	case seconds < 0:
		return []byte(`{}`), nil
	}
	return expiryBody(seconds), nil
}

// expiryBody returns {"expires_after":{"seconds":N}}.
func expiryBody(seconds int64) []byte {
	out := make([]byte, 0, len(`{"expires_after":{"seconds":2147483648}}`))
	out = append(out, `{"expires_after":{"seconds":`...)
	return append(strconv.AppendInt(out, seconds, 10), "}}"...)
}

// checkSession refuses every member of the session at v (zero when
// absent) but type "realtime" and model.
func checkSession(body []byte, v jsonscan.Span) *contract.Error {
	if v.End == 0 || jsonscan.IsNull(body, v) {
		return nil
	}
	if !jsonscan.IsObject(body, v) {
		return refuse("session", "session must be an object")
	}
	var typ jsonscan.Span
	var settings []string
	for it := jsonscan.Walk(body, v); ; {
		key, v, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case keyIs(body, key, "model"):
		case keyIs(body, key, "type"):
			typ = v
		default:
			settings = append(settings, "session."+keyName(body, key))
		}
	}
	if typ.End > 0 && !stringIs(body, typ, "realtime") {
		return refuse("session.type", `xAI mints client secrets for realtime sessions only: session.type must be "realtime"`)
	}
	if len(settings) > 0 {
		return refuseAll(settings, "an xAI client secret carries no session settings: send them in session.update once the WebSocket is open; ")
	}
	return nil
}

// expirySeconds returns expires_after.seconds of the expires_after at v
// (zero when absent), -1 when there is none.
func expirySeconds(body []byte, v jsonscan.Span) (int64, *contract.Error) {
	if v.End == 0 || jsonscan.IsNull(body, v) {
		return -1, nil
	}
	if !jsonscan.IsObject(body, v) {
		return 0, refuse("expires_after", "expires_after must be an object")
	}
	var anchor, sec jsonscan.Span
	var other []string
	for it := jsonscan.Walk(body, v); ; {
		key, v, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case keyIs(body, key, "seconds"):
			sec = v
		case keyIs(body, key, "anchor"):
			anchor = v
		default:
			other = append(other, "expires_after."+keyName(body, key))
		}
	}
	if anchor.End > 0 && !stringIs(body, anchor, "created_at") {
		return 0, refuse("expires_after.anchor", `xAI's secrets expire from their creation: expires_after.anchor may only be "created_at"`)
	}
	if len(other) > 0 {
		return 0, refuseAll(other, "xAI's client secrets take expires_after.seconds only; ")
	}
	if sec.End == 0 || jsonscan.IsNull(body, sec) {
		return -1, nil
	}
	f, err := strconv.ParseFloat(string(body[sec.Start:sec.End]), 64)
	if err != nil || f != float64(int64(f)) || f < 1 || f > 1<<31 {
		return 0, refuse("expires_after.seconds", "expires_after.seconds must be a whole number of seconds, at least 1")
	}
	return int64(f), nil
}

// validJSON reports whether body is one JSON value as encoding/json reads
// it: jsonscan.Valid, or, for a body that is not UTF-8, json.Valid.
func validJSON(body []byte) bool {
	return jsonscan.Valid(body) || !utf8.Valid(body) && json.Valid(body)
}

// keyIs reports whether the key at key is name once unescaped; an
// unescaped one is compared without a copy.
func keyIs(body []byte, key jsonscan.Span, name string) bool {
	if raw, escaped := jsonscan.Key(body, key); !escaped {
		return string(raw) == name
	}
	return keyName(body, key) == name
}

// keyName returns the key at key as encoding/json decodes it: unescaped,
// invalid UTF-8 replaced by U+FFFD.
func keyName(body []byte, key jsonscan.Span) string {
	if raw, escaped := jsonscan.Key(body, key); !escaped && utf8.Valid(raw) {
		return string(raw)
	}
	var name string
	_ = json.Unmarshal(body[key.Start:key.End], &name) // a string of a valid body
	return name
}

// stringIs reports whether the value at v is the string s: what decoding
// it into a string with encoding/json gives (null and other types are
// not).
func stringIs(body []byte, v jsonscan.Span, s string) bool {
	if !jsonscan.IsString(body, v) {
		return false
	}
	return keyIs(body, v, s)
}

// refuseAll refuses names, sorted and each once, after why.
func refuseAll(names []string, why string) *contract.Error {
	slices.Sort(names)
	names = slices.Compact(names)
	list := names[0]
	for _, n := range names[1:] {
		list += ", " + n
	}
	return refuse(names[0], why+"not supported: "+list)
}

func refuse(param, msg string) *contract.Error {
	return &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param,
		Code: CodeUnsupportedSessionSetting, Message: msg}
}
