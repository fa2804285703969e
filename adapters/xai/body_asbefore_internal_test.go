package xai

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The tests below hold clientSecretBody to the answers of the
// encoding/json reading it replaced (jsonClientSecretBody, kept here as
// it was), on every body: the same refusal, or the same bytes for xAI.

func TestClientSecretBodyAsBefore(t *testing.T) {
	for _, body := range clientSecretBodies {
		checkAsBefore(t, []byte(body))
	}
}

// FuzzClientSecretBodyAsBefore: on any bytes, clientSecretBody answers as
// the encoding/json reading did.
func FuzzClientSecretBodyAsBefore(f *testing.F) {
	for _, body := range clientSecretBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(checkAsBefore)
}

func checkAsBefore(t *testing.T, body []byte) {
	out, e := clientSecretBody(body)
	want, wantE := jsonClientSecretBody(body)
	require.Equal(t, wantE, e, "%q", body)
	require.Equal(t, string(want), string(out), "%q", body)
	require.Equal(t, want == nil, out == nil, "%q", body)
}

// clientSecretBodies are the cases whose answers are kept: the accepted
// bodies and each refusal, with repeated members, escaped keys, every
// type where another is expected, nesting, huge and odd numbers, and
// bytes that are not UTF-8 (which encoding/json takes).
var clientSecretBodies = []string{
	`{"session":{"type":"realtime","model":"grok"},"expires_after":{"anchor":"created_at","seconds":300}}`,
	`{"expires_after":{"seconds":600},"session":{"type":"realtime","model":"grok-voice-latest"}}`,
	` { "session" : { "model" : "grok" } , "expires_after" : { "seconds" : 60 } } `,
	`{}`, `{"session":{}}`, `{"expires_after":{}}`, `{"session":null,"expires_after":null}`,
	`{"expires_after":{"seconds":null}}`, `{"expires_after":{"anchor":"created_at"}}`,
	`null`, `[]`, `"x"`, `7`, `true`, ``, ` `, `{`, `{"a":1}x`, `{"a":1}{}`, `{"session":{"model":"grok"}`,
	// The expiry's numbers.
	`{"expires_after":{"seconds":1}}`, `{"expires_after":{"seconds":0}}`, `{"expires_after":{"seconds":-1}}`,
	`{"expires_after":{"seconds":1e3}}`, `{"expires_after":{"seconds":1E+3}}`, `{"expires_after":{"seconds":600.0}}`,
	`{"expires_after":{"seconds":60.5}}`, `{"expires_after":{"seconds":0.5e1}}`, `{"expires_after":{"seconds":2147483648}}`,
	`{"expires_after":{"seconds":2147483649}}`, `{"expires_after":{"seconds":1e400}}`, `{"expires_after":{"seconds":1e-400}}`,
	`{"expires_after":{"seconds":-0}}`, `{"expires_after":{"seconds":99999999999999999999999999999999999999}}`,
	`{"expires_after":{"seconds":"600"}}`, `{"expires_after":{"seconds":true}}`, `{"expires_after":{"seconds":[600]}}`,
	`{"expires_after":{"seconds":{"n":600}}}`,
	// Repeated members: the last counts, as in a map.
	`{"expires_after":{"seconds":60,"seconds":120}}`, `{"expires_after":{"seconds":"x","seconds":120}}`,
	`{"expires_after":{"seconds":60},"expires_after":null}`, `{"expires_after":null,"expires_after":{"seconds":60}}`,
	`{"session":{"voice":"eve"},"session":null}`, `{"session":null,"session":{"voice":"eve"}}`,
	`{"session":{"type":"x","type":"realtime"}}`, `{"session":{"type":"realtime","type":"x"}}`,
	`{"expires_after":{"anchor":"first_use","anchor":"created_at"}}`, `{"expires_after":{"anchor":"created_at","anchor":1}}`,
	`{"a":1,"a":2,"b":3}`, `{"session":{"voice":1,"voice":2,"tools":[]}}`, `{"expires_after":{"x":1,"x":2,"y":3}}`,
	// Escaped keys and values.
	`{"sess\u0069on":{"typ\u0065":"realtim\u0065","mod\u0065l":"grok"},"expires_\u0061fter":{"\u0073econds":60}}`,
	`{"session":{"type":"real\u0074ime"},"expires_after":{"anchor":"created\u005fat","seconds":60}}`,
	`{"session":{"voice":1},"sess\u0069on":null}`, `{"\u0061":1,"a":2}`, `{"\ud800":1}`, `{"a\"b":1,"c\\d":2}`,
	`{"session":{"type":"realtime\u0000"}}`, `{"session":{"\n":1}}`,
	// Other types where objects and strings are expected.
	`{"session":"grok"}`, `{"session":[]}`, `{"session":1}`, `{"session":true}`,
	`{"expires_after":60}`, `{"expires_after":"60"}`, `{"expires_after":[]}`, `{"expires_after":false}`,
	`{"session":{"type":null}}`, `{"session":{"type":1}}`, `{"session":{"type":["realtime"]}}`, `{"session":{"type":"Realtime"}}`,
	`{"expires_after":{"anchor":null,"seconds":60}}`, `{"expires_after":{"anchor":{}}}`,
	// Several refusals at once: the order in which they are answered.
	`{"z":1,"session":{"voice":"eve"},"a":2}`, `{"session":{"type":"transcription","voice":"eve","audio":{}}}`,
	`{"session":{"voice":"eve"},"expires_after":{"anchor":"first_use"}}`,
	`{"expires_after":{"anchor":"first_use","max_uses":1,"seconds":"x"}}`, `{"expires_after":{"max_uses":1,"seconds":"x"}}`,
	`{"session":{"type":"realtime","voice":"eve","instructions":"x","audio":{"output":{"voice":"eve"}}}}`,
	// Nesting.
	`{"session":{"model":"grok","x":` + strings.Repeat(`[`, 9000) + strings.Repeat(`]`, 9000) + `}}`,
	`{"session":{"model":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}}`,
	`{"metadata":` + strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500) + `}`,
	// Not UTF-8: encoding/json reads it, the names with U+FFFD.
	"{\"ses\xffsion\":1}", "{\"session\":{\"model\":\"gr\xffok\"},\"expires_after\":{\"seconds\":60}}",
	"{\"session\":{\"v\xc3oice\":1,\"\xff\xfe\":2}}", "{\"session\":{\"type\":\"realtime\xff\"}}",
	"{\"a\xff\":1,\"a\\ufffd\":2}", "{\"x\":\"\xff\"", "\xff",
}

// jsonClientSecretBody and the functions below are clientSecretBody as it
// was, reading the body into maps with encoding/json.

// jsonClientSecretBody returns the body xAI is sent for body, the
// middleware's normalized GA mint body ({"session":{...},
// "expires_after":{...}}): {"expires_after":{"seconds":N}}, or {} when it
// names no expiry. session.type "realtime" and session.model are the
// middleware's (it read them for the policy) and expires_after.anchor
// "created_at" is what xAI does anyway; anything else is refused with a
// 400 that names it.
func jsonClientSecretBody(body []byte) ([]byte, *contract.Error) {
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
		return nil, jsonRefuseAll(unknown, "xAI's client secrets take expires_after.seconds only; ")
	}
	if e := jsonCheckSession(top["session"]); e != nil {
		return nil, e
	}
	seconds, e := jsonExpirySeconds(top["expires_after"])
	switch {
	case e != nil:
		return nil, e
	case seconds == nil:
		return []byte(`{}`), nil
	}
	out := append([]byte(`{"expires_after":{"seconds":`), seconds...)
	return append(out, "}}"...), nil
}

// jsonCheckSession refuses every session member but type "realtime" and
// model.
func jsonCheckSession(raw json.RawMessage) *contract.Error {
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
		return jsonRefuseAll(settings, "an xAI client secret carries no session settings: send them in session.update once the WebSocket is open; ")
	}
	return nil
}

// jsonExpirySeconds returns expires_after.seconds as a JSON integer, nil when
// absent.
func jsonExpirySeconds(raw json.RawMessage) (json.RawMessage, *contract.Error) {
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
		return nil, jsonRefuseAll(other, "xAI's client secrets take expires_after.seconds only; ")
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

// jsonRefuseAll refuses names, sorted, after why.
func jsonRefuseAll(names []string, why string) *contract.Error {
	slices.Sort(names)
	list := names[0]
	for _, n := range names[1:] {
		list += ", " + n
	}
	return refuse(names[0], why+"not supported: "+list)
}

// TestRefuseAllNamesEachOnce: a name repeated is listed once.
func TestRefuseAllNamesEachOnce(t *testing.T) {
	e := refuseAll([]string{"b", "a", "b", "a"}, "why; ")
	assert.Equal(t, "a", e.Param)
	assert.Equal(t, "why; not supported: a, b", e.Message)
	assert.Equal(t, contract.Error{Status: 400, Type: "invalid_request_error", Param: "a", Code: CodeUnsupportedSessionSetting,
		Message: "why; not supported: a, b"}, *e)
}

// TestExpiryBodyShared: the body kept for the last expiry is the right
// one whatever mints run at once, and appending to it never writes into
// the one kept.
func TestExpiryBodyShared(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				seconds := int64(1 + (g+i)%3)
				body := []byte(`{"expires_after":{"seconds":` + strconv.FormatInt(seconds, 10) + `}}`)
				out, e := clientSecretBody(body)
				if e != nil || !bytes.Equal(out, body) {
					t.Errorf("seconds %d: %q, %v", seconds, out, e)
					return
				}
				_ = append(out, "garbage"...)
			}
		})
	}
	wg.Wait()
	out, e := clientSecretBody([]byte(`{"expires_after":{"seconds":2147483648}}`))
	require.Nil(t, e)
	assert.Equal(t, `{"expires_after":{"seconds":2147483648}}`, string(out))
	assert.Equal(t, len(out), cap(out))
	again, _ := clientSecretBody([]byte(`{"session":{"model":"grok"},"expires_after":{"seconds":2147483648}}`))
	assert.Equal(t, `{"expires_after":{"seconds":2147483648}}`, string(again))
}
