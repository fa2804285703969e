package badrequests_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/badrequests"
)

// writeCorpus writes cases.json (and any other files) into a new directory.
func writeCorpus(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	return dir
}

func TestLoadTheRepositoryCorpus(t *testing.T) {
	c, err := badrequests.Load(filepath.Join("..", "..", "testdata", "badrequests"))
	require.NoError(t, err)
	assert.NotEmpty(t, c.VirtualKey)
	assert.NotEmpty(t, c.Cases)
	names := map[string]bool{}
	for i := range c.Cases {
		tc := &c.Cases[i]
		assert.False(t, names[tc.Name], "case name %q is repeated", tc.Name)
		names[tc.Name] = true
		setup, err := c.SessionSetup(tc)
		require.NoError(t, err, "case %q", tc.Name)
		id := ""
		if setup != nil {
			id = "rtc_corpus"
		}
		_, err = c.ResolveSession(tc, id)
		require.NoError(t, err, "case %q", tc.Name)
	}
}

func TestLoadRejectsUnknownFields(t *testing.T) {
	dir := writeCorpus(t, map[string]string{"cases.json": `{"virtual_key":"vk","cases":[{"name":"typo","stauts":400}]}`})
	_, err := badrequests.Load(dir)
	require.ErrorContains(t, err, "stauts")
}

func TestLoadRequiresAVirtualKey(t *testing.T) {
	dir := writeCorpus(t, map[string]string{"cases.json": `{"cases":[]}`})
	_, err := badrequests.Load(dir)
	require.ErrorContains(t, err, "virtual_key")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := badrequests.Load(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestResolve(t *testing.T) {
	dir := writeCorpus(t, map[string]string{
		"cases.json": `{"virtual_key":"vk-1",
			"defaults":{"method":"POST","path":"/mint","headers":{"Content-Type":"application/json","Authorization":"Bearer vk-1"}},
			"cases":[
				{"name":"defaults"},
				{"name":"overrides","method":"GET","path":"/v1/realtime%2Fclient_secrets",
				 "headers":{"content-type":"text/plain","Authorization":null,"X-Extra":"1"},
				 "header_gen":{"X-Virtual-Key":"repeat ab 3"},"body":""},
				{"name":"file","body_file":"bodies/one.bin","body_gen":"open_arrays 2","body":"ignored"},
				{"name":"gen","body_gen":"open_arrays 2","body":"ignored"},
				{"name":"missing file","body_file":"bodies/none.bin"},
				{"name":"bad gen","header_gen":{"X-A":"nope 1"}}
			]}`,
		"bodies/one.bin": "\x00\xff",
	})
	c, err := badrequests.Load(dir)
	require.NoError(t, err)
	require.Len(t, c.Cases, 6)

	r, err := c.Resolve(&c.Cases[0])
	require.NoError(t, err)
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/mint", r.Target)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "Bearer vk-1", r.Header.Get("Authorization"))
	assert.Nil(t, r.Body, "a case without a body has none")

	r, err = c.Resolve(&c.Cases[1])
	require.NoError(t, err)
	assert.Equal(t, "GET", r.Method)
	assert.Equal(t, "/v1/realtime%2Fclient_secrets", r.Target, "the target stays raw")
	assert.Equal(t, []string{"text/plain"}, r.Header.Values("Content-Type"), "a case header replaces the default, whatever its case")
	assert.NotContains(t, r.Header, "Authorization", "null deletes a default header")
	assert.Equal(t, "1", r.Header.Get("X-Extra"))
	assert.Equal(t, "ababab", r.Header.Get("X-Virtual-Key"))
	assert.Equal(t, []byte{}, r.Body, "an empty body is empty, not absent")
	assert.Len(t, r.Header, 3)

	r, err = c.Resolve(&c.Cases[2])
	require.NoError(t, err)
	assert.Equal(t, []byte("\x00\xff"), r.Body, "body_file wins over body_gen and body")

	r, err = c.Resolve(&c.Cases[3])
	require.NoError(t, err)
	assert.Equal(t, []byte("[["), r.Body, "body_gen wins over body")

	_, err = c.Resolve(&c.Cases[4])
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = c.Resolve(&c.Cases[5])
	require.ErrorContains(t, err, "unknown kind")
}

func TestResolveDoesNotShareTheDefaults(t *testing.T) {
	del := (*string)(nil)
	c := &badrequests.Corpus{Defaults: badrequests.Defaults{Headers: map[string]string{"A": "1"}}}
	r, err := c.Resolve(&badrequests.Case{Headers: map[string]*string{"A": del}})
	require.NoError(t, err)
	assert.Empty(t, r.Header)
	r, err = c.Resolve(&badrequests.Case{})
	require.NoError(t, err)
	assert.Equal(t, "1", r.Header.Get("A"), "a deletion in one case must not leak into the next")
}

func TestGenerateSize(t *testing.T) {
	for _, n := range []int{1048577, 2097152, 200} {
		b, err := badrequests.Generate("size " + strconv.Itoa(n))
		require.NoError(t, err)
		assert.Len(t, b, n)
		var v struct {
			Session struct{ Type, Model string }
			Pad     string
		}
		require.NoError(t, json.Unmarshal(b, &v), "a size body is a valid mint body")
		assert.Equal(t, "openai/gpt-realtime", v.Session.Model)
	}
	_, err := badrequests.Generate("size 10")
	require.Error(t, err, "too small to hold the mint body")
}

func TestGenerateNest(t *testing.T) {
	b, err := badrequests.Generate("nest 3")
	require.NoError(t, err)
	assert.JSONEq(t, `{"session":{"type":"realtime","model":"openai/gpt-realtime"},"x":[[[]]]}`, string(b))

	b, err = badrequests.Generate("nest_objects 3")
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"a":{}}}`, string(b))

	b, err = badrequests.Generate("nest_sessions 2")
	require.NoError(t, err)
	assert.Equal(t, `{"session":{}}`, string(b))

	b, err = badrequests.Generate("nest_objects 10000")
	require.NoError(t, err)
	assert.Equal(t, 9999, strings.Count(string(b), `{"a":`))
	assert.True(t, json.Valid(b))

	_, err = badrequests.Generate("nest_objects 0")
	require.Error(t, err)
}

func TestGenerateOpenArraysAndRepeat(t *testing.T) {
	b, err := badrequests.Generate("open_arrays 100000")
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte("["), 100000), b)

	b, err = badrequests.Generate("repeat v 65536")
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte("v"), 65536), b)

	_, err = badrequests.Generate("repeat 5")
	require.Error(t, err, "repeat needs a text")
}

func TestGenerateRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "   ", "nest", "nest x", "nest -1", "open_arrays -1", "unknown 3"} {
		_, err := badrequests.Generate(spec)
		assert.Error(t, err, "spec %q", spec)
	}
	_, err := badrequests.Generate("unknown 3")
	require.ErrorContains(t, err, "unknown kind")
}

func TestSessionSetup(t *testing.T) {
	dir := writeCorpus(t, map[string]string{
		"cases.json": `{"virtual_key":"vk-1","other_virtual_keys":{"other":"vk-2"},
			"defaults":{"method":"POST","path":"/mint","headers":{"Authorization":"Bearer vk-1"}},
			"cases":[
				{"name":"call","path":"/openai/v1/realtime/calls/{session_id}/hangup","session_by":"other"},
				{"name":"live","path":"/api/v1/live/sessions/{session_id}/hangup","session_by":"other"},
				{"name":"none"},
				{"name":"unknown key","path":"/v1/realtime/calls/{session_id}/hangup","session_by":"nobody"},
				{"name":"no placeholder","path":"/v1/realtime/calls/x/hangup","session_by":"other"},
				{"name":"other collection","path":"/v1/realtime/sessions/{session_id}/hangup","session_by":"other"}
			]}`,
	})
	c, err := badrequests.Load(dir)
	require.NoError(t, err)

	call, err := c.SessionSetup(&c.Cases[0])
	require.NoError(t, err)
	assert.Equal(t, "POST", call.Method)
	assert.Equal(t, "/openai/v1/realtime/calls", call.Target)
	assert.Equal(t, "Bearer vk-2", call.Header.Get("Authorization"))
	mt, params, err := mime.ParseMediaType(call.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "multipart/form-data", mt)
	form, err := multipart.NewReader(bytes.NewReader(call.Body), params["boundary"]).ReadForm(1 << 20)
	require.NoError(t, err)
	assert.Equal(t, []string{badrequests.Offer}, form.Value["sdp"])
	assert.JSONEq(t, `{"type":"realtime","model":"openai/gpt-realtime"}`, form.Value["session"][0])

	live, err := c.SessionSetup(&c.Cases[1])
	require.NoError(t, err)
	assert.Equal(t, "/api/v1/live/sessions", live.Target)
	assert.Equal(t, "application/json", live.Header.Get("Content-Type"))
	var body struct {
		Session   struct{ Model string }
		Transport struct{ Type, SDP string }
	}
	require.NoError(t, json.Unmarshal(live.Body, &body))
	assert.Equal(t, "openai/gpt-live-1", body.Session.Model)
	assert.Equal(t, "webrtc", body.Transport.Type)
	assert.Equal(t, badrequests.Offer, body.Transport.SDP)

	none, err := c.SessionSetup(&c.Cases[2])
	require.NoError(t, err)
	assert.Nil(t, none)
	for _, i := range []int{3, 4, 5} {
		_, err := c.SessionSetup(&c.Cases[i])
		require.Error(t, err, c.Cases[i].Name)
	}

	_, err = c.Resolve(&c.Cases[0])
	require.ErrorContains(t, err, "{session_id}", "the placeholder is never sent")
	r, err := c.ResolveSession(&c.Cases[0], "rtc_42")
	require.NoError(t, err)
	assert.Equal(t, "/openai/v1/realtime/calls/rtc_42/hangup", r.Target)
	assert.Equal(t, "Bearer vk-1", r.Header.Get("Authorization"), "the case is sent with its own key")
}

func TestCreatedID(t *testing.T) {
	call := &badrequests.Request{Target: "/v1/realtime/calls"}
	live := &badrequests.Request{Target: "/v1/live/sessions"}
	tests := []struct {
		name   string
		setup  *badrequests.Request
		status int
		header http.Header
		body   string
		want   string
	}{
		{name: "call", setup: call, status: 201, header: http.Header{"Location": {"/v1/realtime/calls/rtc_1"}}, want: "rtc_1"},
		{name: "call without Location", setup: call, status: 201},
		{name: "live", setup: live, status: 201, body: `{"session":{"id":"sess_9"}}`, want: "sess_9"},
		{name: "live without id", setup: live, status: 201, body: `{"session":{}}`},
		{name: "refused", setup: call, status: 401, header: http.Header{"Location": {"/x/y"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := badrequests.CreatedID(tc.setup, tc.status, tc.header, []byte(tc.body))
			if tc.want == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id)
		})
	}
}

func TestGenerateCallSDP(t *testing.T) {
	for _, n := range []int{65537, 100} {
		b, err := badrequests.Generate("call_sdp " + strconv.Itoa(n))
		require.NoError(t, err)
		form, err := multipart.NewReader(bytes.NewReader(b), badrequests.CallBoundary).ReadForm(1 << 20)
		require.NoError(t, err)
		require.Len(t, form.Value["sdp"], 1)
		assert.Len(t, form.Value["sdp"][0], n)
		assert.True(t, strings.HasPrefix(form.Value["sdp"][0], "v=0\r\n"))
	}
	_, err := badrequests.Generate("call_sdp 5")
	require.Error(t, err)
}
