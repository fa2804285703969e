package fakeupstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	const body = `{"session":{"type":"realtime","model":"gpt-realtime"}}`
	tests := []struct {
		name   string
		keys   []string
		header string // Authorization
		want   int
	}{
		{name: "no key", header: "", want: http.StatusUnauthorized},
		{name: "empty bearer", header: "Bearer ", want: http.StatusUnauthorized},
		{name: "blank bearer", header: "Bearer   ", want: http.StatusUnauthorized},
		{name: "basic scheme", header: "Basic c2stdGVzdDo=", want: http.StatusUnauthorized},
		{name: "bare key", header: "sk-test", want: http.StatusUnauthorized},
		{name: "any key when none configured", header: "Bearer whatever", want: http.StatusOK},
		{name: "known key", keys: []string{"sk-a", "sk-b"}, header: "Bearer sk-b", want: http.StatusOK},
		{name: "scheme is case-insensitive", keys: []string{"sk-a"}, header: "bearer sk-a", want: http.StatusOK},
		{name: "unknown key", keys: []string{"sk-a"}, header: "Bearer sk-ab", want: http.StatusUnauthorized},
		{name: "prefix of a key", keys: []string{"sk-a"}, header: "Bearer sk-", want: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := fakeupstream.New(fakeupstream.Options{Keys: tc.keys})
			req := httptest.NewRequest(http.MethodPost, fakeupstream.PathClientSecrets, strings.NewReader(body))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			up.ServeHTTP(rec, req)
			if tc.want == http.StatusOK {
				assert.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
				return
			}
			o := assertAPIError(t, rec, tc.want, "", "invalid_api_key")
			msg, _ := o.at(t, "error", "message").(string)
			assert.NotContains(t, msg, "sk-", "the key is never echoed")
		})
	}
}

func TestAuthIsCheckedBeforeTheBody(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-a"}})
	rec := post(t, up, fakeupstream.PathClientSecrets, "", `not json`)
	assertAPIError(t, rec, http.StatusUnauthorized, "", "invalid_api_key")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{})

	for _, p := range []string{
		fakeupstream.PathClientSecrets, fakeupstream.PathTranslationClientSecrets,
		fakeupstream.PathSessions, fakeupstream.PathTranscriptionSessions,
	} {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		up.ServeHTTP(rec, req)
		assertAPIError(t, rec, http.StatusMethodNotAllowed, "", "method_not_allowed")
		assert.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
	}

	rec := post(t, up, "/v1/realtime/client_secrets/", "k", `{}`)
	o := assertAPIError(t, rec, http.StatusNotFound, "", "")
	assert.Equal(t, "Invalid URL (POST /v1/realtime/client_secrets/)", o.at(t, "error", "message"))

	rec = post(t, up, fakeupstream.PathClientSecrets+"?beta=1", "k", `{}`)
	assert.Equal(t, http.StatusOK, rec.Code, "the query string is ignored")

	rec = httptest.NewRecorder()
	up.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fakeupstream.PathHealth, nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ok\n", rec.Body.String())

	rec = post(t, up, fakeupstream.PathHealth, "", ``)
	assertAPIError(t, rec, http.StatusMethodNotAllowed, "", "method_not_allowed")
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{MaxBodyBytes: 64})
	rec := post(t, up, fakeupstream.PathClientSecrets, "k", `{"session":{"type":"realtime","instructions":"`+
		strings.Repeat("x", 64)+`"}}`)
	assertAPIError(t, rec, http.StatusRequestEntityTooLarge, "", "request_too_large")
	last, ok := up.Last()
	require.True(t, ok)
	assert.Len(t, last.Body, 64, "the recorded body is cut at the limit")

	exact := `{"session":{"type":"realtime"}}`
	up = fakeupstream.New(fakeupstream.Options{MaxBodyBytes: int64(len(exact))})
	assert.Equal(t, http.StatusOK, post(t, up, fakeupstream.PathClientSecrets, "k", exact).Code)
}

func TestOverHTTP(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-test"}})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+fakeupstream.PathClientSecrets,
		strings.NewReader(fixture(t, "ga_client_secret")))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenAI-Safety-Identifier", "user-1")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	assert.NotEmpty(t, resp.Header.Get("Openai-Processing-Ms"))
	assert.NotEmpty(t, resp.Header.Get("Set-Cookie"), "a cookie the code under test must not forward")
	assert.Regexp(t, secretRE, decode(t, body).at(t, "value"))

	last, ok := up.Last()
	require.True(t, ok)
	assert.Equal(t, "user-1", last.Header.Get("OpenAI-Safety-Identifier"))
	assert.Equal(t, fixture(t, "ga_client_secret"), string(last.Body))
}

func TestRecording(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Now: fixedNow})
	_, ok := up.Last()
	assert.False(t, ok)
	assert.Empty(t, up.Requests())
	assert.Zero(t, up.Count())

	req := httptest.NewRequest(http.MethodPost, fakeupstream.PathSessions+"?a=1&b=2", strings.NewReader(`{"model":"m"}`))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("X-Request-Id", "abc")
	up.ServeHTTP(httptest.NewRecorder(), req)
	req.Header.Set("X-Request-Id", "changed after the fact")
	post(t, up, fakeupstream.PathClientSecrets, "", `refused`)

	reqs := up.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, 2, up.Count())
	first := reqs[0]
	assert.Equal(t, http.MethodPost, first.Method)
	assert.Equal(t, fakeupstream.PathSessions, first.Path)
	assert.Equal(t, "a=1&b=2", first.RawQuery)
	assert.Equal(t, "2", first.Query().Get("b"))
	assert.Equal(t, "example.com", first.Host)
	assert.Equal(t, "abc", first.Header.Get("X-Request-Id"), "headers are cloned on arrival")
	assert.Equal(t, "Bearer k", first.Header.Get("Authorization"))
	assert.JSONEq(t, `{"model":"m"}`, string(first.Body))
	assert.True(t, first.Time.Equal(testNow))
	assert.Equal(t, "refused", string(reqs[1].Body), "refused requests are recorded too")

	last, ok := up.Last()
	require.True(t, ok)
	assert.Equal(t, reqs[1], last)

	// What callers get is theirs to change.
	first.Header.Set("X-Request-Id", "mutated")
	first.Body[0] = 'X'
	again := up.Requests()[0]
	assert.Equal(t, "abc", again.Header.Get("X-Request-Id"))
	assert.Equal(t, byte('{'), again.Body[0])

	up.Reset()
	assert.Empty(t, up.Requests())
	assert.Zero(t, up.Count())
	_, ok = up.Last()
	assert.False(t, ok)
}

func TestRecordingIsBounded(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{MaxRequests: 3})
	for i := range 7 {
		post(t, up, fakeupstream.PathSessions, "k", fmt.Sprintf(`{"n":%d}`, i))
		reqs := up.Requests()
		require.Len(t, reqs, min(i+1, 3))
		last, ok := up.Last()
		require.True(t, ok)
		assert.Equal(t, fmt.Sprintf(`{"n":%d}`, i), string(last.Body))
	}
	var bodies []string
	for _, r := range up.Requests() {
		bodies = append(bodies, string(r.Body))
	}
	assert.Equal(t, []string{`{"n":4}`, `{"n":5}`, `{"n":6}`}, bodies, "the last ones, oldest first")
	assert.Equal(t, 7, up.Count(), "Count includes evicted requests")

	off := fakeupstream.New(fakeupstream.Options{MaxRequests: -1})
	post(t, off, fakeupstream.PathSessions, "k", `{}`)
	assert.Empty(t, off.Requests())
	assert.Equal(t, 1, off.Count())
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{MaxRequests: 50, ServeBeta: true})
	const workers, each = 16, 25
	secrets := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				rec := post(t, up, fakeupstream.PathSessions, "k", `{"model":"gpt-realtime"}`)
				if rec.Code != http.StatusOK {
					t.Errorf("status %d: %s", rec.Code, rec.Body)
					return
				}
				o := decode(t, rec.Body.Bytes())
				s, _ := o["client_secret"].(map[string]any)["value"].(string)
				secrets <- s
				_ = up.Requests()
				_, _ = up.Last()
			}
		})
	}
	wg.Wait()
	close(secrets)
	seen := map[string]bool{}
	for s := range secrets {
		assert.False(t, seen[s], "repeated secret %s", s)
		seen[s] = true
	}
	assert.Len(t, seen, workers*each)
	assert.Equal(t, workers*each, up.Count())
	assert.Len(t, up.Requests(), 50)
}

func TestFault(t *testing.T) {
	t.Parallel()
	calls := 0
	var mu sync.Mutex
	up := fakeupstream.New(fakeupstream.Options{
		Fault: func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			defer mu.Unlock()
			calls++
			body, err := io.ReadAll(r.Body)
			if err != nil || !strings.Contains(string(body), "fail") {
				return false
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>bad gateway</html>")
			return true
		},
		ServeBeta: true,
	})

	rec := post(t, up, fakeupstream.PathSessions, "", `{"model":"fail"}`)
	assert.Equal(t, http.StatusBadGateway, rec.Code, "the fault answers before auth")
	assert.Equal(t, "<html>bad gateway</html>", rec.Body.String())

	rec = post(t, up, fakeupstream.PathSessions, "k", `{"model":"ok"}`)
	assert.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "ok", decode(t, rec.Body.Bytes()).at(t, "model"), "the server still reads the body")

	assert.Equal(t, 2, calls)
	assert.Equal(t, 2, up.Count(), "faulted requests are recorded")
}

func TestLatency(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Latency: time.Hour})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, fakeupstream.PathClientSecrets, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer k")
	rec := httptest.NewRecorder()
	up.ServeHTTP(rec, req) // returns at once: the client is gone
	assert.Zero(t, rec.Body.Len())

	// Errors are not delayed.
	rec = post(t, up, fakeupstream.PathClientSecrets, "", `{}`)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestUnknownFlavorPanics(t *testing.T) {
	t.Parallel()
	assert.PanicsWithValue(t, "fakeupstream: unknown Flavor 99", func() {
		fakeupstream.New(fakeupstream.Options{Flavor: 99})
	})
}
