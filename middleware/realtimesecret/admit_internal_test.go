package realtimesecret

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadBodyGrowsAsBytesArrive: a body that announces a large length
// reserves at most bodyChunk until its bytes arrive, so a caller who
// announces 1 MiB and sends a few bytes holds a few KiB.
func TestReadBodyGrowsAsBytesArrive(t *testing.T) {
	a := &admission{maxBody: 1 << 20}
	r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(`{"model":"m"}`)))
	r.ContentLength = 1<<20 - 1 // announced, never sent
	body, e := a.readBody(r)
	require.Nil(t, e)
	assert.JSONEq(t, `{"model":"m"}`, string(body))
	assert.LessOrEqual(t, cap(body), bodyChunk)

	big := strings.Repeat("x", 100<<10)
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(big))
	body, e = a.readBody(r)
	require.Nil(t, e)
	assert.Equal(t, big, string(body), "a body longer than the first chunk is read whole")

	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 1<<20+1)))
	r.ContentLength = -1
	_, e = a.readBody(r)
	require.NotNil(t, e)
	assert.Equal(t, http.StatusRequestEntityTooLarge, e.Status)
}
