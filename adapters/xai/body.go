package xai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

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
// 400 that names it.
func clientSecretBody(body []byte) ([]byte, *contract.Error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, refuse("", "the request body must be a JSON object")
	}
	var unknown []string
	for name := range top {
		if name != "session" && name != "expires_after" {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, refuseAll(unknown, "xAI's client secrets take expires_after.seconds only; ")
	}
	if e := checkSession(top["session"]); e != nil {
		return nil, e
	}
	seconds, e := expirySeconds(top["expires_after"])
	switch {
	case e != nil:
		return nil, e
	case seconds == nil:
		return []byte(`{}`), nil
	}
	out := append([]byte(`{"expires_after":{"seconds":`), seconds...)
	return append(out, "}}"...), nil
}

// checkSession refuses every session member but type "realtime" and
// model.
func checkSession(raw json.RawMessage) *contract.Error {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	var session map[string]json.RawMessage
	if json.Unmarshal(raw, &session) != nil || session == nil {
		return refuse("session", "session must be an object")
	}
	var settings []string
	for name, v := range session {
		switch name {
		case "model":
		case "type":
			var typ string
			if json.Unmarshal(v, &typ) != nil || typ != "realtime" {
				return refuse("session.type", `xAI mints client secrets for realtime sessions only: session.type must be "realtime"`)
			}
		default:
			settings = append(settings, "session."+name)
		}
	}
	if len(settings) > 0 {
		return refuseAll(settings, "an xAI client secret carries no session settings: send them in session.update once the WebSocket is open; ")
	}
	return nil
}

// expirySeconds returns expires_after.seconds as a JSON integer, nil when
// absent.
func expirySeconds(raw json.RawMessage) (json.RawMessage, *contract.Error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var exp map[string]json.RawMessage
	if json.Unmarshal(raw, &exp) != nil || exp == nil {
		return nil, refuse("expires_after", "expires_after must be an object")
	}
	var other []string
	for name, v := range exp {
		switch name {
		case "seconds":
		case "anchor":
			var anchor string
			if json.Unmarshal(v, &anchor) != nil || anchor != "created_at" {
				return nil, refuse("expires_after.anchor", `xAI's secrets expire from their creation: expires_after.anchor may only be "created_at"`)
			}
		default:
			other = append(other, "expires_after."+name)
		}
	}
	if len(other) > 0 {
		return nil, refuseAll(other, "xAI's client secrets take expires_after.seconds only; ")
	}
	sec := bytes.TrimSpace(exp["seconds"])
	if sec == nil || string(sec) == "null" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(string(sec), 64)
	if err != nil || f != float64(int64(f)) || f < 1 || f > 1<<31 {
		return nil, refuse("expires_after.seconds", "expires_after.seconds must be a whole number of seconds, at least 1")
	}
	return strconv.AppendInt(nil, int64(f), 10), nil
}

// refuseAll refuses names, sorted, after why.
func refuseAll(names []string, why string) *contract.Error {
	slices.Sort(names)
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
