package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewFromURL returns a Store on a new client for rawURL, in the forms
// go-redis parses: "redis://[user:password@]host[:port][/db]", "rediss://..."
// for TLS, or "unix:///path/to/socket". Query parameters such as
// dial_timeout or pool_size tune the client. The client applies context
// deadlines to the socket, so Options.Timeout bounds every call. Close
// closes the client.
//
// Errors never include the URL, which may hold a password.
func NewFromURL(rawURL string, opts Options) (*Store, error) {
	// Without a scheme, go-redis answers with net/url's "first path segment
	// in URL cannot contain colon" (host:port) or an empty scheme; and
	// "redis:6379" would parse as an opaque URL that dials localhost. Say
	// what is expected instead. The text is never quoted back.
	scheme, _, ok := strings.Cut(rawURL, "://")
	switch {
	case !ok:
		return nil, fmt.Errorf("redisstore: invalid redis URL: no scheme: %s", urlForms)
	case scheme != "redis" && scheme != "rediss" && scheme != "unix":
		return nil, fmt.Errorf("redisstore: invalid redis URL: unsupported scheme: %s", urlForms)
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// A *url.Error repeats the whole URL, password included; keep only
		// its cause.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redisstore: invalid redis URL: %w", err)
	}
	o.ContextTimeoutEnabled = true
	s := New(redis.NewClient(o), opts)
	s.owned = true
	return s, nil
}

// urlForms is what NewFromURL accepts, for its errors.
const urlForms = "want redis://host:6379/0, rediss://host:6379/0 (TLS) or unix:///path/to/redis.sock"
