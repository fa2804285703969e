package oidc

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The key set is not fetched through a redirect off https, nor through
// many.
func TestCheckRedirect(t *testing.T) {
	req := func(u string) *http.Request {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: parsed}
	}
	assert.NoError(t, checkRedirect(req("https://keys.example.com/jwks"), nil))
	assert.NoError(t, checkRedirect(req("http://127.0.0.1:9/jwks"), nil), "loopback, for tests")
	assert.Error(t, checkRedirect(req("http://keys.example.com/jwks"), nil))
	assert.Error(t, checkRedirect(req("https://keys.example.com/jwks"), make([]*http.Request, 3)))
}
