package fakeupstream_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// FuzzMint feeds arbitrary bodies to every mint route: the server must not
// panic, and must answer either a valid mint with a fresh secret or a valid
// OpenAI-shaped error.
func FuzzMint(f *testing.F) {
	paths := []string{
		fakeupstream.PathClientSecrets, fakeupstream.PathTranslationClientSecrets,
		fakeupstream.PathSessions, fakeupstream.PathTranscriptionSessions,
	}
	seeds := []string{"ga_client_secret", "ga_transcription", "translation", "beta_session", "beta_transcription_session"}
	for i, name := range seeds {
		f.Add(uint8(i), []byte(fixture(f, name)))
	}
	f.Add(uint8(0), []byte(`{"session":{"type":"realtime","model":"a\u0000\"b"},"expires_after":{"seconds":1e3}}`))
	f.Add(uint8(2), []byte(`{"model":"m","model":{"x":1},"client_secret":{"expires_after":{"seconds":-0}}}`))

	up := fakeupstream.New(fakeupstream.Options{MaxRequests: -1})
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := paths[int(route)%len(paths)]
		rec := post(t, up, path, "k", string(body))
		out := rec.Body.Bytes()
		if !json.Valid(out) {
			t.Fatalf("%d answer is not JSON: %q", rec.Code, out)
		}
		switch rec.Code {
		case http.StatusOK:
			var v struct {
				Value        string `json:"value"`
				ClientSecret struct {
					Value string `json:"value"`
				} `json:"client_secret"`
			}
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("answer: %v: %s", err, out)
			}
			if !strings.HasPrefix(v.Value+v.ClientSecret.Value, fakeupstream.SecretPrefix) {
				t.Fatalf("no secret in %s", out)
			}
		case http.StatusBadRequest:
			var e struct {
				Error *struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Fatalf("bad error answer %s", out)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, out)
		}
	})
}
