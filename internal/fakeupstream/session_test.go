package fakeupstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

const (
	keyA = "sk-session-a"
	keyB = "sk-session-b"
)

var (
	callIDRE     = regexp.MustCompile(`^rtc_[0-9a-f]{24}$`)
	liveSession  = `{"model":"gpt-live-1","instructions":"Be brief.","anything":{"goes":[1,2]}}`
	callSessionJ = `{"type":"realtime","model":"gpt-realtime","audio":{"output":{"voice":"marin"}}}`
)

// send sends body to h with the bearer key ("" = none) and content type
// ("" = none).
func send(t testing.TB, h http.Handler, method, path, key, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// liveBody is a Live creation body with the given session and transport
// members (raw JSON), and extra top-level members.
func liveBody(session, transport, extra string) []byte {
	b := `{"session":` + session + `,"transport":` + transport + extra + `}`
	return []byte(b)
}

func liveTransport(sdp string) string {
	return `{"type":"webrtc","sdp":` + jsonString(sdp) + `}`
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func newSessionFake(opts fakeupstream.Options) *fakeupstream.Server {
	if opts.Keys == nil {
		opts.Keys = []string{keyA, keyB}
	}
	if opts.Models == nil {
		opts.Models = []string{"gpt-realtime", "gpt-realtime-mini"}
	}
	if opts.LiveModels == nil {
		opts.LiveModels = []string{"gpt-live-1"}
	}
	return fakeupstream.New(opts)
}

// mintSecret mints an ek_ value at up with key.
func mintSecret(t *testing.T, up http.Handler, key string) string {
	t.Helper()
	rec := post(t, up, fakeupstream.PathClientSecrets, key, `{"session":{"type":"realtime","model":"gpt-realtime"}}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	v, ok := decode(t, rec.Body.Bytes()).at(t, "value").(string)
	require.True(t, ok)
	return v
}

func TestCallCreated(t *testing.T) {
	withSession, mpType := fakeupstream.CallBody(fakeupstream.SampleOffer, callSessionJ)
	sdpOnly, sdpOnlyType := fakeupstream.CallBody(fakeupstream.SampleOffer, "")
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		ephemeral         bool
		model             string
	}{
		{name: "multipart with session", contentType: mpType, body: withSession, model: "gpt-realtime"},
		{name: "multipart, sdp only", contentType: sdpOnlyType, body: sdpOnly, model: "gpt-realtime"},
		{name: "raw offer with a minted secret", contentType: "application/sdp", body: []byte(fakeupstream.SampleOffer),
			ephemeral: true, model: "gpt-realtime"},
		{name: "multipart with a minted secret", contentType: mpType, body: withSession, ephemeral: true, model: "gpt-realtime"},
		{name: "content type parameters", contentType: "Application/SDP; charset=utf-8", body: []byte(fakeupstream.SampleOffer),
			ephemeral: true, model: "gpt-realtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newSessionFake(fakeupstream.Options{Now: fixedNow})
			key := keyA
			if tc.ephemeral {
				key = mintSecret(t, up, keyA)
			}
			rec := send(t, up, http.MethodPost, fakeupstream.PathCalls, key, tc.contentType, tc.body)

			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			assert.Equal(t, "application/sdp", rec.Header().Get("Content-Type"))
			assert.NotEmpty(t, rec.Header().Get("X-Request-Id"))
			id, ok := strings.CutPrefix(rec.Header().Get("Location"), fakeupstream.PathCalls+"/")
			require.True(t, ok, "Location %q", rec.Header().Get("Location"))
			assert.Regexp(t, callIDRE, id)
			checkAnswer(t, fakeupstream.SampleOffer, rec.Body.String())

			sess, ok := up.Session(id)
			require.True(t, ok)
			assert.Equal(t, fakeupstream.Session{ID: id, Kind: fakeupstream.SessionCall, Model: tc.model,
				Ephemeral: tc.ephemeral, Created: testNow}, sess)
			assert.True(t, sess.Active())
			assert.Equal(t, fakeupstream.SessionStats{Calls: 1, Active: 1}, up.SessionStats())
			assert.Equal(t, 1, up.SessionsCreated())
			assert.Equal(t, 1, up.ActiveSessions())

			last, ok := up.LastRequest(fakeupstream.PathCalls)
			require.True(t, ok)
			assert.Equal(t, tc.body, last.Body, "what reached the fake, byte for byte")
			assert.Equal(t, tc.contentType, last.Header.Get("Content-Type"))
		})
	}
}

func TestCallRefused(t *testing.T) {
	mp := func(sdp, session string) ([]byte, string) { return fakeupstream.CallBody(sdp, session) }
	okBody, okType := mp(fakeupstream.SampleOffer, callSessionJ)
	_, boundaryless := mp(fakeupstream.SampleOffer, "")
	boundaryless = strings.Split(boundaryless, ";")[0]
	parts := func(names ...string) ([]byte, string) {
		var b strings.Builder
		for _, n := range names {
			b.WriteString("--x\r\nContent-Disposition: form-data; name=\"" + n + "\"\r\n\r\n")
			if n == "sdp" {
				b.WriteString(fakeupstream.SampleOffer)
			} else {
				b.WriteString(`{"type":"realtime"}`)
			}
			b.WriteString("\r\n")
		}
		b.WriteString("--x--\r\n")
		return []byte(b.String()), "multipart/form-data; boundary=x"
	}
	type body struct {
		b  []byte
		ct string
	}
	with := func(b []byte, ct string) body { return body{b, ct} }
	for _, tc := range []struct {
		name        string
		key         string // "" = keyA; "-" = none
		method      string
		body        body
		status      int
		param, code string
	}{
		{name: "raw offer with an API key", body: body{[]byte(fakeupstream.SampleOffer), "application/sdp"},
			status: http.StatusBadRequest, code: "invalid_content_type"},
		{name: "raw offer with an ek_ not minted here", key: "ek_00112233445566778899aabbccddeeff",
			body: body{[]byte(fakeupstream.SampleOffer), "application/sdp"}, status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "JSON body", body: body{[]byte(`{"sdp":"v=0"}`), "application/json"}, status: http.StatusBadRequest, code: "invalid_content_type"},
		{name: "no content type", body: body{okBody, ""}, status: http.StatusBadRequest, code: "invalid_content_type"},
		{name: "multipart without boundary", body: body{okBody, boundaryless}, status: http.StatusBadRequest, code: "invalid_multipart"},
		{name: "multipart with another boundary", body: body{okBody, "multipart/form-data; boundary=nope"},
			status: http.StatusBadRequest, param: "sdp", code: "missing_required_parameter"},
		{name: "truncated multipart", body: body{okBody[:len(okBody)/2], okType}, status: http.StatusBadRequest, code: "invalid_multipart"},
		{name: "no sdp part", body: with(parts("session")), status: http.StatusBadRequest, param: "sdp", code: "missing_required_parameter"},
		{name: "sdp twice", body: with(parts("sdp", "sdp")), status: http.StatusBadRequest, param: "sdp", code: "duplicate_parameter"},
		{name: "session twice", body: with(parts("sdp", "session", "session")), status: http.StatusBadRequest, param: "session", code: "duplicate_parameter"},
		{name: "unknown part", body: with(parts("sdp", "model")), status: http.StatusBadRequest, param: "model", code: "unknown_parameter"},
		{name: "session not JSON", body: with(mp(fakeupstream.SampleOffer, "{model:x}")), status: http.StatusBadRequest},
		{name: "session an array", body: with(mp(fakeupstream.SampleOffer, `["gpt-realtime"]`)),
			status: http.StatusBadRequest, param: "session", code: "invalid_type"},
		{name: "session type transcription", body: with(mp(fakeupstream.SampleOffer, `{"type":"transcription"}`)),
			status: http.StatusBadRequest, param: "session.type", code: "invalid_value"},
		{name: "model not a string", body: with(mp(fakeupstream.SampleOffer, `{"model":7}`)),
			status: http.StatusBadRequest, param: "session.model", code: "invalid_type"},
		{name: "unknown model", body: with(mp(fakeupstream.SampleOffer, `{"model":"openai/gpt-realtime"}`)),
			status: http.StatusBadRequest, param: "session.model", code: "invalid_value"},
		{name: "sdp not v=0", body: with(mp("hello", "")), status: http.StatusBadRequest, param: "sdp", code: "invalid_offer"},
		{name: "sdp empty", body: with(mp("", "")), status: http.StatusBadRequest, param: "sdp", code: "invalid_offer"},
		{name: "sdp not UTF-8", body: with(mp("v=0\r\nm=audio 9 RTP/AVP 0\r\ns=\xff\r\n", "")),
			status: http.StatusBadRequest, param: "sdp", code: "invalid_offer"},
		{name: "no key", key: "-", body: body{okBody, okType}, status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "wrong key", key: "sk-wrong", body: body{okBody, okType}, status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "GET", method: http.MethodGet, body: body{nil, ""}, status: http.StatusMethodNotAllowed, code: "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newSessionFake(fakeupstream.Options{})
			key := tc.key
			switch key {
			case "":
				key = keyA
			case "-":
				key = ""
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			rec := send(t, up, method, fakeupstream.PathCalls, key, tc.body.ct, tc.body.b)
			assertAPIError(t, rec, tc.status, tc.param, tc.code)
			assert.Empty(t, rec.Header().Get("Location"))
			assert.Equal(t, fakeupstream.SessionStats{}, up.SessionStats(), "no session created")
		})
	}
}

func TestCallBodyTooLarge(t *testing.T) {
	up := newSessionFake(fakeupstream.Options{MaxBodyBytes: 64})
	body, ct := fakeupstream.CallBody(fakeupstream.SampleOffer, "")
	assertAPIError(t, send(t, up, http.MethodPost, fakeupstream.PathCalls, keyA, ct, body),
		http.StatusRequestEntityTooLarge, "", "request_too_large")
}

func TestLiveCreated(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		body              []byte
	}{
		{name: "SDK body", contentType: "application/json",
			body: liveBody(`{"model":"gpt-live-1"}`, liveTransport(fakeupstream.SampleOffer), "")},
		{name: "any session fields, members reordered", contentType: "application/json; charset=utf-8",
			body: []byte(`{"transport":{"sdp":` + jsonString(fakeupstream.SampleOffer) + `,"type":"webrtc"},"session":` + liveSession + `}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newSessionFake(fakeupstream.Options{Now: fixedNow})
			rec := send(t, up, http.MethodPost, fakeupstream.PathLiveSessions, keyA, tc.contentType, tc.body)

			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Empty(t, rec.Header().Get("Location"))
			o := decode(t, rec.Body.Bytes())
			id, _ := o.at(t, "session", "id").(string)
			assert.Regexp(t, sessionRE, id)
			assert.Equal(t, "gpt-live-1", o.at(t, "session", "model"))
			assert.Equal(t, "webrtc", o.at(t, "transport", "type"))
			sdp, _ := o.at(t, "transport", "sdp").(string)
			checkAnswer(t, fakeupstream.SampleOffer, sdp)

			sess, ok := up.Session(id)
			require.True(t, ok)
			assert.Equal(t, fakeupstream.Session{ID: id, Kind: fakeupstream.SessionLive, Model: "gpt-live-1", Created: testNow}, sess)
			assert.Equal(t, fakeupstream.SessionStats{Live: 1, Active: 1}, up.SessionStats())
			last, ok := up.LastRequest(fakeupstream.PathLiveSessions)
			require.True(t, ok)
			assert.Equal(t, tc.body, last.Body)
		})
	}
}

func TestLiveRefused(t *testing.T) {
	okSession := `{"model":"gpt-live-1"}`
	okTransport := liveTransport(fakeupstream.SampleOffer)
	for _, tc := range []struct {
		name, key, contentType string
		body                   []byte
		status                 int
		param, code            string
	}{
		{name: "unknown top-level field", body: liveBody(okSession, okTransport, `,"model":"gpt-live-1"`),
			param: "model", code: "unknown_parameter"},
		{name: "unknown transport field", body: liveBody(okSession, `{"type":"webrtc","sdp":"v=0\r\n","ice_servers":[]}`, ""),
			param: "transport.ice_servers", code: "unknown_parameter"},
		{name: "no session", body: []byte(`{"transport":` + okTransport + `}`), param: "session", code: "missing_required_parameter"},
		{name: "session null", body: liveBody("null", okTransport, ""), param: "session", code: "missing_required_parameter"},
		{name: "session a string", body: liveBody(`"gpt-live-1"`, okTransport, ""), param: "session", code: "invalid_type"},
		{name: "no model", body: liveBody(`{"instructions":"x"}`, okTransport, ""), param: "session.model", code: "missing_required_parameter"},
		{name: "model not a string", body: liveBody(`{"model":["gpt-live-1"]}`, okTransport, ""), param: "session.model", code: "invalid_type"},
		{name: "unknown model", body: liveBody(`{"model":"gpt-realtime"}`, okTransport, ""), param: "session.model", code: "invalid_value"},
		{name: "no transport", body: []byte(`{"session":` + okSession + `}`), param: "transport", code: "missing_required_parameter"},
		{name: "transport an array", body: liveBody(okSession, `[]`, ""), param: "transport", code: "invalid_type"},
		{name: "no transport type", body: liveBody(okSession, `{"sdp":"v=0\r\n"}`, ""), param: "transport.type", code: "missing_required_parameter"},
		{name: "transport type websocket", body: liveBody(okSession, `{"type":"websocket","sdp":"v=0\r\n"}`, ""),
			param: "transport.type", code: "invalid_value"},
		{name: "no sdp", body: liveBody(okSession, `{"type":"webrtc"}`, ""), param: "transport.sdp", code: "missing_required_parameter"},
		{name: "empty sdp", body: liveBody(okSession, `{"type":"webrtc","sdp":""}`, ""), param: "transport.sdp", code: "empty_string"},
		{name: "sdp not an offer", body: liveBody(okSession, `{"type":"webrtc","sdp":"x"}`, ""), param: "transport.sdp", code: "invalid_offer"},
		{name: "not JSON", body: []byte(`{"session":`)},
		{name: "empty body"},
		{name: "an array", body: []byte(`[]`), code: "invalid_type"},
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: liveBody(okSession, okTransport, ""),
			code: "invalid_content_type"},
		{name: "an ephemeral key", key: "ek_00112233445566778899aabbccddeeff", body: liveBody(okSession, okTransport, ""),
			status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "wrong key", key: "sk-wrong", body: liveBody(okSession, okTransport, ""),
			status: http.StatusUnauthorized, code: "invalid_api_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newSessionFake(fakeupstream.Options{})
			key, ct, status := tc.key, tc.contentType, tc.status
			if key == "" {
				key = keyA
			}
			if ct == "" {
				ct = "application/json"
			}
			if status == 0 {
				status = http.StatusBadRequest
			}
			rec := send(t, up, http.MethodPost, fakeupstream.PathLiveSessions, key, ct, tc.body)
			assertAPIError(t, rec, status, tc.param, tc.code)
			assert.Equal(t, fakeupstream.SessionStats{}, up.SessionStats(), "no session created")
		})
	}
}

// create makes a call (kind SessionCall) or a Live session with key and
// returns its id.
func create(t *testing.T, up http.Handler, kind fakeupstream.SessionKind, key string) string {
	t.Helper()
	if kind == fakeupstream.SessionCall {
		body, ct := fakeupstream.CallBody(fakeupstream.SampleOffer, "")
		rec := send(t, up, http.MethodPost, fakeupstream.PathCalls, key, ct, body)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		return strings.TrimPrefix(rec.Header().Get("Location"), fakeupstream.PathCalls+"/")
	}
	rec := send(t, up, http.MethodPost, fakeupstream.PathLiveSessions, key, "application/json",
		liveBody(`{"model":"gpt-live-1"}`, liveTransport(fakeupstream.SampleOffer), ""))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	id, _ := decode(t, rec.Body.Bytes()).at(t, "session", "id").(string)
	return id
}

func hangupPath(kind fakeupstream.SessionKind, id string) string {
	if kind == fakeupstream.SessionCall {
		return fakeupstream.PathCalls + "/" + id + "/hangup"
	}
	return fakeupstream.PathLiveSessions + "/" + id + "/hangup"
}

func TestHangup(t *testing.T) {
	for _, kind := range []fakeupstream.SessionKind{fakeupstream.SessionCall, fakeupstream.SessionLive} {
		route := fakeupstream.PathCallHangup
		other := fakeupstream.SessionLive
		if kind == fakeupstream.SessionLive {
			route, other = fakeupstream.PathLiveSessionHangup, fakeupstream.SessionCall
		}
		t.Run(kind.String(), func(t *testing.T) {
			up := newSessionFake(fakeupstream.Options{Now: fixedNow})
			id := create(t, up, kind, keyA)
			otherID := create(t, up, other, keyA)
			require.Equal(t, 2, up.ActiveSessions())
			if kind == fakeupstream.SessionLive {
				// A WebRTC Live session is not hung up: session.close ends
				// it. A SIP one is.
				rec := send(t, up, http.MethodPost, hangupPath(kind, id), keyA, "", nil)
				assertAPIError(t, rec, http.StatusBadRequest, "", "webrtc_session")
				sess, _ := up.Session(id)
				require.True(t, sess.Active())
				id = up.AddSIPSession(keyA).ID
			}

			for _, tc := range []struct {
				name, path, key string
				method          string
				status          int
				code            string
			}{
				{name: "another key's session", path: hangupPath(kind, id), key: keyB, status: http.StatusNotFound, code: "not_found"},
				{name: "another kind's id", path: hangupPath(kind, otherID), key: keyA, status: http.StatusNotFound, code: "not_found"},
				{name: "unknown id", path: hangupPath(kind, "rtc_0"), key: keyA, status: http.StatusNotFound, code: "not_found"},
				{name: "no key", path: hangupPath(kind, id), status: http.StatusUnauthorized, code: "invalid_api_key"},
				{name: "GET", path: hangupPath(kind, id), key: keyA, method: http.MethodGet,
					status: http.StatusMethodNotAllowed, code: "method_not_allowed"},
			} {
				method := tc.method
				if method == "" {
					method = http.MethodPost
				}
				rec := send(t, up, method, tc.path, tc.key, "", nil)
				assertAPIError(t, rec, tc.status, "", tc.code)
				sess, _ := up.Session(id)
				assert.True(t, sess.Active(), tc.name)
			}

			rec := send(t, up, http.MethodPost, hangupPath(kind, id), keyA, "", nil)
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Empty(t, rec.Body.String())
			sess, ok := up.Session(id)
			require.True(t, ok)
			assert.False(t, sess.Active())
			assert.Equal(t, testNow, sess.Ended)
			last, ok := up.LastRequest(route)
			require.True(t, ok)
			assert.Equal(t, hangupPath(kind, id), last.Path)

			rec = send(t, up, http.MethodPost, hangupPath(kind, id), keyA, "", nil)
			assertAPIError(t, rec, http.StatusNotFound, "", "not_found")

			st := up.SessionStats()
			want := fakeupstream.SessionStats{Calls: 1, Live: 1, Hangups: 7, Ended: 1, Active: 1}
			sessions := 2
			if kind == fakeupstream.SessionLive {
				// The refused WebRTC hang-up, and the SIP session.
				want = fakeupstream.SessionStats{Calls: 1, Live: 2, Hangups: 8, Ended: 1, Active: 2}
				sessions = 3
			}
			assert.Equal(t, want, st)
			assert.Equal(t, sessions, st.Created())

			up.Reset()
			assert.Equal(t, fakeupstream.SessionStats{Active: want.Active}, up.SessionStats(), "Reset keeps sessions")
			_, ok = up.LastRequest(route)
			assert.False(t, ok)
			if other == fakeupstream.SessionLive {
				otherID = up.AddSIPSession(keyA).ID // a Live session a hang-up ends
				sessions++
			}
			active := up.ActiveSessions()
			rec = send(t, up, http.MethodPost, hangupPath(other, otherID), keyA, "", nil)
			assert.Equal(t, http.StatusOK, rec.Code, "a session from before Reset can be hung up")
			assert.Equal(t, active-1, up.ActiveSessions())
			assert.Len(t, up.Sessions(), sessions)
		})
	}
}

// TestHangupOfACallCreatedWithAMintedSecret: OpenAI's WebRTC guide has the
// browser create the call with an ek_ and the server govern it with its
// API key: such a call is hung up with an API key, not with a secret.
func TestHangupOfACallCreatedWithAMintedSecret(t *testing.T) {
	up := newSessionFake(fakeupstream.Options{Now: fixedNow})
	ek := mintSecret(t, up, keyA)
	rec := send(t, up, http.MethodPost, fakeupstream.PathCalls, ek, "application/sdp", []byte(fakeupstream.SampleOffer))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	id := strings.TrimPrefix(rec.Header().Get("Location"), fakeupstream.PathCalls+"/")

	assertAPIError(t, send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionCall, id), ek, "", nil),
		http.StatusUnauthorized, "", "invalid_api_key")
	rec = send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionCall, id), keyA, "", nil)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	sess, _ := up.Session(id)
	assert.False(t, sess.Active())
}

// An upstream that times out after creating the session has created
// exactly one: the retry tests rely on it.
func TestCreateDelayHoldsAnswerAfterCounting(t *testing.T) {
	for _, kind := range []fakeupstream.SessionKind{fakeupstream.SessionCall, fakeupstream.SessionLive} {
		t.Run(kind.String(), func(t *testing.T) {
			var hooked atomic.Int32
			up := newSessionFake(fakeupstream.Options{
				CreateDelay: time.Hour,
				AfterCreate: func(_ context.Context, s fakeupstream.Session) {
					assert.Equal(t, kind, s.Kind)
					hooked.Add(1)
				},
			})
			srv := httptest.NewServer(up)
			t.Cleanup(srv.Close)

			body, ct := fakeupstream.CallBody(fakeupstream.SampleOffer, "")
			path := fakeupstream.PathCalls
			if kind == fakeupstream.SessionLive {
				body, ct = liveBody(`{"model":"gpt-live-1"}`, liveTransport(fakeupstream.SampleOffer), ""), "application/json"
				path = fakeupstream.PathLiveSessions
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, strings.NewReader(string(body)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+keyA)
			resp, err := srv.Client().Do(req)
			if resp != nil {
				_ = resp.Body.Close()
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 1, up.SessionsCreated())
			assert.Equal(t, 1, up.ActiveSessions())
			assert.Equal(t, int32(1), hooked.Load())
		})
	}
}

// AfterCreate can hold one answer and let the others through.
func TestAfterCreateHoldsOneAnswer(t *testing.T) {
	var n atomic.Int32
	up := newSessionFake(fakeupstream.Options{
		AfterCreate: func(ctx context.Context, _ fakeupstream.Session) {
			if n.Add(1) == 1 {
				<-ctx.Done()
			}
		},
	})
	body, ct := fakeupstream.CallBody(fakeupstream.SampleOffer, "")
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, fakeupstream.PathCalls, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+keyA)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { up.ServeHTTP(rec, req); close(done) }()
	require.Eventually(t, func() bool { return up.SessionsCreated() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	<-done
	assert.Empty(t, rec.Body.String(), "nothing answered once the client left")

	create(t, up, fakeupstream.SessionCall, keyA)
	assert.Equal(t, 2, up.SessionsCreated())
}

func TestSessionKindString(t *testing.T) {
	assert.Equal(t, "call", fakeupstream.SessionCall.String())
	assert.Equal(t, "live", fakeupstream.SessionLive.String())
	assert.Equal(t, "unknown", fakeupstream.SessionKind(0).String())
}

// TestEndSessionEndsAsTheProviderDoes: a session ended on the provider's
// side (the browser left) is over for its sidebands and its hang-up.
func TestEndSessionEndsAsTheProviderDoes(t *testing.T) {
	up := newSessionFake(fakeupstream.Options{Now: fixedNow})
	id := create(t, up, fakeupstream.SessionLive, keyA)
	require.True(t, up.EndSession(id, "client_left"))
	sess, ok := up.Session(id)
	require.True(t, ok)
	assert.False(t, sess.Active())
	assert.False(t, up.EndSession(id, "client_left"), "ended already")
	assert.False(t, up.EndSession("sess_0", "client_left"), "unknown")
	assertAPIError(t, send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionLive, id), keyA, "", nil),
		http.StatusNotFound, "", "not_found")
}
