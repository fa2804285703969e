package fakeupstream_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testNow   = time.Unix(1_700_000_000, 0)
	secretRE  = regexp.MustCompile(`^ek_[0-9a-f]{32}$`)
	sessionRE = regexp.MustCompile(`^sess_[0-9a-f]{24}$`)
)

func fixedNow() time.Time { return testNow }

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".request.json"))
	require.NoError(t, err)
	return string(b)
}

// post sends body to h at path with the bearer key ("" = no Authorization).
func post(t testing.TB, h http.Handler, path, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// obj is a decoded JSON object, numbers as json.Number.
type obj map[string]any

func decode(t testing.TB, b []byte) obj {
	t.Helper()
	require.True(t, json.Valid(b), "invalid JSON: %s", b)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var o obj
	require.NoError(t, dec.Decode(&o), "%s", b)
	return o
}

// at walks a path of object keys.
func (o obj) at(t testing.TB, keys ...string) any {
	t.Helper()
	var cur any = map[string]any(o)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		require.True(t, ok, "%v is not an object at %q", cur, k)
		cur, ok = m[k]
		require.True(t, ok, "no %q in %v", k, m)
	}
	return cur
}

func (o obj) int(t testing.TB, keys ...string) int64 {
	t.Helper()
	n, ok := o.at(t, keys...).(json.Number)
	require.True(t, ok, "%v is not a number", keys)
	v, err := n.Int64()
	require.NoError(t, err)
	return v
}

func (o obj) has(keys ...string) bool {
	var cur any = map[string]any(o)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

// assertAPIError checks an OpenAI-shaped error answer.
func assertAPIError(t testing.TB, rec *httptest.ResponseRecorder, status int, param, code string) obj {
	t.Helper()
	assert.Equal(t, status, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	o := decode(t, rec.Body.Bytes())
	require.Len(t, o, 1)
	e, ok := o["error"].(map[string]any)
	require.True(t, ok, "error is not an object: %s", rec.Body)
	require.Len(t, e, 4, "error members: %s", rec.Body)
	assert.NotEmpty(t, e["message"])
	assert.Equal(t, "invalid_request_error", e["type"])
	if param == "" {
		assert.Nil(t, e["param"], "param")
	} else {
		assert.Equal(t, param, e["param"])
	}
	if code == "" {
		assert.Nil(t, e["code"], "code")
	} else {
		assert.Equal(t, code, e["code"])
	}
	return o
}
