package fakeupstream_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
			requireErrorAnswer(t, out)
		default:
			t.Fatalf("status %d: %s", rec.Code, out)
		}
	})
}

// FuzzSession feeds arbitrary bodies and content types to the calls and
// Live routes: the server must not panic, and must answer either a created
// session with a well-formed SDP answer or a valid OpenAI-shaped error.
func FuzzSession(f *testing.F) {
	mp, mpType := fakeupstream.CallBody(fakeupstream.SampleOffer, `{"type":"realtime","model":"gpt-realtime"}`)
	f.Add(false, mpType, mp)
	f.Add(false, "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nv=0\r\nm=audio 0 RTP/AVP 0\r\n--x--\r\n"))
	f.Add(false, "application/sdp", []byte(fakeupstream.SampleOffer))
	f.Add(true, "application/json", []byte(`{"session":{"model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"}}`))
	f.Add(true, "application/json", []byte(`{"session":{"model":"m"},"transport":{"type":"webrtc","sdp":"v=0\r\nm=audio 9/2 RTP/AVP 0\r\na=mid:\u0000"},"x":1}`))

	up := fakeupstream.New(fakeupstream.Options{MaxRequests: -1})
	f.Fuzz(func(t *testing.T, live bool, contentType string, body []byte) {
		path := fakeupstream.PathCalls
		if live {
			path = fakeupstream.PathLiveSessions
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		up.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		switch rec.Code {
		case http.StatusCreated:
			sdp := string(out)
			if live {
				var v struct {
					Transport struct {
						SDP string `json:"sdp"`
					} `json:"transport"`
				}
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("answer: %v: %s", err, out)
				}
				sdp = v.Transport.SDP
			}
			if !strings.HasPrefix(sdp, "v=0\r\n") || !strings.Contains(sdp, "\r\nm=") || strings.Contains(strings.ReplaceAll(sdp, "\r\n", ""), "\n") {
				t.Fatalf("malformed SDP answer %q", sdp)
			}
		case http.StatusBadRequest:
			requireErrorAnswer(t, out)
		default:
			t.Fatalf("status %d: %s", rec.Code, out)
		}
	})
}

// requireErrorAnswer fails unless out is an OpenAI-shaped error with a
// message.
func requireErrorAnswer(t *testing.T, out []byte) {
	t.Helper()
	var e struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &e); err != nil || e.Error == nil || e.Error.Message == "" {
		t.Fatalf("bad error answer %s", out)
	}
}
