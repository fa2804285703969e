package realtimesecret

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// FuzzLiveBody checks the GPT-Live body parser on any body: it never
// panics and refuses with 400; what it accepts, encoding/json reads the
// same way (session.model is the model the middleware read, transport.type
// is "webrtc", transport.sdp an offer starting with v=0); and the body
// forwarded upstream differs from the client's only in session.model.
func FuzzLiveBody(f *testing.F) {
	offer := realOffer(f)
	for _, seed := range []string{
		`{"session":{"model":"openai/gpt-live-1","instructions":"Be brief."},"transport":{"type":"webrtc","sdp":` + jsonString(offer) + `}}`,
		`{"transport":{"sdp":` + jsonString(offer) + `,"type":"webrtc"},"session":{"model":"gpt-live-1"}}`,
		`{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`,
		`{"session":{"model":"a","mod\u0065l":"b"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`,
		`{"session":{"model":"a"},"transport":{"type":"webrtc","type":"websocket","sdp":"v=0\r\n"}}`,
		`{"session":{"model":"a"},"transport":{"type":"webrtc","sdp":"v=0\r\n"},"Transport":{"type":"x"}}`,
		`{"session":{"model":"a"},"transport":{"type":"web\u0072tc","sdp":"\u0076=0\r\n"}}`,
		`{"session":{"model":"a"},"transport":"webrtc"}`,
		`{"session":"a","transport":{"type":"webrtc","sdp":"v=0\r\n"}}`,
		`[]`, `{`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var b mintBody
		if e := parseBody(doc, contract.EndpointLiveSession, &b); e != nil {
			if e.Status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", e.Status, e.Message)
			}
			return
		}
		var got struct {
			Session struct {
				Model string `json:"model"`
			} `json:"session"`
			Transport struct {
				Type string `json:"type"`
				SDP  string `json:"sdp"`
			} `json:"transport"`
		}
		exactly(t, doc, "session", "model", &got.Session.Model)
		exactly(t, doc, "transport", "type", &got.Transport.Type)
		exactly(t, doc, "transport", "sdp", &got.Transport.SDP)
		if got.Session.Model != b.model {
			t.Fatalf("encoding/json reads session.model %q, the middleware %q: %q", got.Session.Model, b.model, doc)
		}
		if got.Transport.Type != "webrtc" {
			t.Fatalf("encoding/json reads transport.type %q: %q", got.Transport.Type, doc)
		}
		if !strings.HasPrefix(got.Transport.SDP, "v=0\r\n") && !strings.HasPrefix(got.Transport.SDP, "v=0\n") {
			t.Fatalf("encoding/json reads transport.sdp %q", got.Transport.SDP)
		}

		out := b.normalize(fuzzModel, 0)
		var in, fwd map[string]any
		decodeNumbers(t, doc, &in)
		decodeNumbers(t, out, &fwd)
		in["session"].(map[string]any)["model"] = fuzzModel
		if !reflect.DeepEqual(in, fwd) {
			t.Fatalf("the forwarded body differs from the client's beyond session.model:\n in %q\nout %q", doc, out)
		}
	})
}

// exactly reads doc.outer.inner with encoding/json, matching names exactly
// (a struct would match them case-insensitively, which no upstream does),
// and fails unless it is a string.
func exactly(t *testing.T, doc []byte, outer, inner string, dst *string) {
	t.Helper()
	var top map[string]json.RawMessage
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatalf("encoding/json refuses an accepted body: %v: %q", err, doc)
	}
	if err := json.Unmarshal(top[outer], &obj); err != nil || obj == nil {
		t.Fatalf("encoding/json reads no object %s: %q", outer, doc)
	}
	if err := json.Unmarshal(obj[inner], dst); err != nil {
		t.Fatalf("encoding/json reads no string %s.%s: %v: %q", outer, inner, err, doc)
	}
}

func decodeNumbers(t *testing.T, doc []byte, dst *map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		t.Fatalf("encoding/json: %v: %q", err, doc)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
