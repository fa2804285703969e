package fakeupstream_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// sidebandURL is the sideband of session id of kind at srv, in the OpenAI
// or Azure form.
func sidebandURL(srv *httptest.Server, kind fakeupstream.SessionKind, id string, azure bool) string {
	prefix := srv.URL
	if azure {
		prefix += "/openai"
	}
	if kind == fakeupstream.SessionCall {
		return prefix + "/v1/realtime?call_id=" + id
	}
	return prefix + "/v1/live/sessions/" + id + "/attach?graceful_close=false"
}

// dialSideband attaches to session id with key, as a bearer token or (Azure)
// an api-key header.
func dialSideband(t *testing.T, srv *httptest.Server, kind fakeupstream.SessionKind, id, key string, azure bool) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if azure {
		h.Set("Api-Key", key)
	} else {
		h.Set("Authorization", "Bearer "+key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, sidebandURL(srv, kind, id, azure), &websocket.DialOptions{HTTPHeader: h})
	if c != nil {
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, resp, err
}

// readEvent reads one event and returns its type and the decoded event.
func readEvent(t *testing.T, c *websocket.Conn) (string, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(b, &ev), string(b))
	typ, _ := ev["type"].(string)
	return typ, ev
}

// readClose reads until the sideband closes and returns its close status.
func readClose(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func newSidebandFake(t *testing.T, script fakeupstream.SidebandScript) (*fakeupstream.Server, *httptest.Server) {
	t.Helper()
	up := newSessionFake(fakeupstream.Options{Sideband: script})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	t.Cleanup(up.Close)
	return up, srv
}

func TestMeterSidebandEmitsTheScriptAndClosesOnHangup(t *testing.T) {
	script := fakeupstream.SidebandScript{
		Responses:   []fakeupstream.ResponseUsage{{InputTokens: 10, InputAudioTokens: 8, InputTextTokens: 2, InputCachedTokens: 4, OutputTokens: 5, OutputAudioTokens: 5}},
		LiveSeconds: []float64{1.5, 2.5},
	}
	for _, azure := range []bool{false, true} {
		t.Run("call azure="+map[bool]string{false: "no", true: "yes"}[azure], func(t *testing.T) {
			up, srv := newSidebandFake(t, script)
			id := create(t, up, fakeupstream.SessionCall, keyA)
			c, _, err := dialSideband(t, srv, fakeupstream.SessionCall, id, keyA, azure)
			require.NoError(t, err)
			typ, ev := readEvent(t, c)
			require.Equal(t, "response.done", typ)
			resp := ev["response"].(map[string]any)
			assert.Equal(t, "resp_1", resp["id"])
			assert.Equal(t, map[string]any{"total_tokens": 15.0, "input_tokens": 10.0, "output_tokens": 5.0,
				"input_token_details":  map[string]any{"text_tokens": 2.0, "audio_tokens": 8.0, "cached_tokens": 4.0},
				"output_token_details": map[string]any{"text_tokens": 0.0, "audio_tokens": 5.0}}, resp["usage"])

			require.Equal(t, http.StatusOK, send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionCall, id), keyA, "", nil).Code)
			assert.Equal(t, websocket.StatusNormalClosure, readClose(t, c), "the call ended: its sideband closes normally")
			st := up.SidebandStats()
			assert.Equal(t, 1, st.Attached)
			assert.Equal(t, 1, st.Events)
		})
	}
	t.Run("live", func(t *testing.T) {
		up, srv := newSidebandFake(t, script)
		id := up.AddSIPSession(keyA).ID // a Live session a hang-up ends
		c, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
		require.NoError(t, err)
		for _, want := range script.LiveSeconds {
			typ, ev := readEvent(t, c)
			require.Equal(t, "session.usage.updated", typ)
			assert.Equal(t, map[string]any{"seconds": want}, ev["usage"])
		}
		require.Equal(t, http.StatusOK, send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionLive, id), keyA, "", nil).Code)
		typ, ev := readEvent(t, c)
		require.Equal(t, "session.closed", typ)
		assert.Equal(t, "close_requested", ev["reason"])
		assert.Equal(t, map[string]any{"seconds": 2.5}, ev["usage"])
		assert.Equal(t, websocket.StatusNormalClosure, readClose(t, c))
	})
}

func TestMeterSidebandSessionCloseEndsTheLiveSession(t *testing.T) {
	up, srv := newSidebandFake(t, fakeupstream.SidebandScript{LiveSeconds: []float64{1}, FinalSeconds: 3})
	id := create(t, up, fakeupstream.SessionLive, keyA)
	observer, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
	require.NoError(t, err)
	closer, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, true)
	require.NoError(t, err)
	readEvent(t, observer)
	readEvent(t, closer)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, closer.Write(ctx, websocket.MessageText, []byte(`{"type":"session.close"}`)))
	for _, c := range []*websocket.Conn{closer, observer} {
		typ, ev := readEvent(t, c)
		require.Equal(t, "session.closed", typ)
		assert.Equal(t, map[string]any{"seconds": 3.0}, ev["usage"])
		assert.Equal(t, websocket.StatusNormalClosure, readClose(t, c))
	}
	sess, ok := up.Session(id)
	require.True(t, ok)
	assert.False(t, sess.Active())
	assert.Equal(t, 1, up.SidebandStats().SessionCloses)
	assert.Zero(t, up.SessionStats().Hangups)
	assert.Equal(t, 1, up.SessionStats().Ended)
}

func TestMeterSidebandRefused(t *testing.T) {
	up, srv := newSidebandFake(t, fakeupstream.SidebandScript{Every: -1})
	call := create(t, up, fakeupstream.SessionCall, keyA)
	live := create(t, up, fakeupstream.SessionLive, keyA)
	ended := create(t, up, fakeupstream.SessionCall, keyA)
	require.Equal(t, http.StatusOK, send(t, up, http.MethodPost, hangupPath(fakeupstream.SessionCall, ended), keyA, "", nil).Code)
	for _, tc := range []struct {
		name   string
		kind   fakeupstream.SessionKind
		id     string
		key    string
		status int
	}{
		{name: "unknown call", kind: fakeupstream.SessionCall, id: "rtc_000000000000000000000000", key: keyA, status: http.StatusNotFound},
		{name: "ended call", kind: fakeupstream.SessionCall, id: ended, key: keyA, status: http.StatusNotFound},
		{name: "another key's call", kind: fakeupstream.SessionCall, id: call, key: keyB, status: http.StatusNotFound},
		{name: "a Live id as a call", kind: fakeupstream.SessionCall, id: live, key: keyA, status: http.StatusNotFound},
		{name: "a call id as a Live session", kind: fakeupstream.SessionLive, id: call, key: keyA, status: http.StatusNotFound},
		{name: "unknown key", kind: fakeupstream.SessionLive, id: live, key: "sk-nobody", status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := dialSideband(t, srv, tc.kind, tc.id, tc.key, false)
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
	assert.Equal(t, 6, up.SidebandStats().Refused)
	assert.Zero(t, up.SidebandStats().Attached)
}

func TestMeterSidebandDrops(t *testing.T) {
	up, srv := newSidebandFake(t, fakeupstream.SidebandScript{LiveSeconds: []float64{1, 2, 3}, DropAfter: 2})
	id := create(t, up, fakeupstream.SessionLive, keyA)
	first, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
	require.NoError(t, err)
	readEvent(t, first)
	readEvent(t, first)
	assert.NotEqual(t, websocket.StatusNormalClosure, readClose(t, first), "dropped without a close frame")

	second, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
	require.NoError(t, err)
	for range 3 {
		readEvent(t, second) // the script again, in full: only the first sideband drops
	}
	assert.Equal(t, 1, up.DropSidebands(id))
	assert.NotEqual(t, websocket.StatusNormalClosure, readClose(t, second))
	require.Eventually(t, func() bool { return up.SidebandStats().Dropped == 2 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2, up.SidebandStats().Attached)
	sess, _ := up.Session(id)
	assert.True(t, sess.Active(), "a dropped sideband leaves the session running")
}

func TestMeterSidebandDefaultScriptReportsUsageEverySecond(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	up := newSessionFake(fakeupstream.Options{Now: clock})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	t.Cleanup(up.Close)
	id := create(t, up, fakeupstream.SessionLive, keyA)
	c, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
	require.NoError(t, err)
	typ, ev := readEvent(t, c) // within DefaultEvery
	require.Equal(t, "session.usage.updated", typ)
	assert.Contains(t, ev, "usage")

	call := create(t, up, fakeupstream.SessionCall, keyA)
	c, _, err = dialSideband(t, srv, fakeupstream.SessionCall, call, keyA, false)
	require.NoError(t, err)
	typ, ev = readEvent(t, c)
	require.Equal(t, "response.done", typ)
	assert.True(t, strings.HasPrefix(ev["response"].(map[string]any)["id"].(string), "resp_tick_"))
}

func TestMeterSidebandCloseEndsEverySideband(t *testing.T) {
	up, srv := newSidebandFake(t, fakeupstream.SidebandScript{Every: -1})
	id := create(t, up, fakeupstream.SessionLive, keyA)
	c, _, err := dialSideband(t, srv, fakeupstream.SessionLive, id, keyA, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return up.SidebandStats().Open == 1 }, 5*time.Second, 5*time.Millisecond)
	status := make(chan websocket.StatusCode, 1)
	go func() { status <- readClose(t, c) }() // answers the closing handshake
	up.Close()
	assert.Equal(t, websocket.StatusGoingAway, <-status)
	assert.Zero(t, up.SidebandStats().Open)
}
