package faultupstream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
)

const credential = "sk-faultupstream-SECRET"

// post sends one POST with credential as a bearer token, given up after
// timeout, through a client of the test's own that leaves gzip alone.
func post(t *testing.T, url string, timeout time.Duration) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return postCtx(ctx, t, url)
}

func postCtx(ctx context.Context, t *testing.T, url string) (*http.Response, error) {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestRefusedRefuses(t *testing.T) {
	_, err := post(t, faultupstream.Refused(t), time.Minute)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestCloseBeforeHeadersFailsTheRequest(t *testing.T) {
	_, err := post(t, faultupstream.CloseBeforeHeaders(t), time.Minute)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
}

func TestMidBodyFaultsSendPartialThenFail(t *testing.T) {
	for name, tc := range map[string]struct {
		start   func(testing.TB) string
		timeout time.Duration
		want    error
	}{
		"reset": {faultupstream.ResetMidBody, time.Minute, io.ErrUnexpectedEOF},
		"hang":  {faultupstream.HangMidBody, faultupstream.HangTimeout, context.DeadlineExceeded},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := post(t, tc.start(t), tc.timeout)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, faultupstream.Partial, string(body))
		})
	}
}

func TestCancelOnArrivalCancels(t *testing.T) {
	url, ctx := faultupstream.CancelOnArrival(t)
	_, err := postCtx(ctx, t, url)
	require.ErrorIs(t, err, context.Canceled)
}

func TestAnswer(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		url := faultupstream.Answer(t, faultupstream.Reply{Header: faultupstream.GzipHeader(), Body: faultupstream.Gzip(t, "hello, gzip"), Chunked: chunked})
		resp, err := post(t, url, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, chunked, resp.ContentLength == -1)
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		body, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, "hello, gzip", string(body))
	}
}

func TestEchoCredentialQuotesIt(t *testing.T) {
	_, err := post(t, faultupstream.EchoCredential(t), time.Minute)
	require.ErrorContains(t, err, credential, "the transport no longer quotes the status line: the fault tests nothing")
}

func TestRedirectRedirects(t *testing.T) {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(faultupstream.Redirect(t, http.StatusFound), "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "http://127.0.0.1:"), resp.Header.Get("Location"))
}

func TestUntrustedTLSFailsTheHandshake(t *testing.T) {
	url := faultupstream.UntrustedTLS(t)
	require.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
	_, err := post(t, url, time.Minute)
	require.ErrorContains(t, err, "certificate")
}

func TestFaultsAreNamedAndStart(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range faultupstream.Faults {
		assert.False(t, seen[f.Name], "duplicate name %q", f.Name)
		seen[f.Name] = true
		assert.Error(t, f.Want, f.Name)
		assert.True(t, strings.HasPrefix(f.Start(t), "http"), f.Name)
	}
}

func TestCorruptGzipDoesNotDecode(t *testing.T) {
	bodies := faultupstream.CorruptGzip(t, "hello, gzip")
	require.Len(t, bodies, 3)
	for name, body := range bodies {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			_, err = io.ReadAll(zr)
		}
		assert.Error(t, err, name)
	}
}
