package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of what the identity provider may send.
const (
	maxDocumentBytes = 512 << 10 // a discovery document or a key set
	maxKeys          = 100       // usable keys kept from one set
)

var (
	errNoKeys      = errors.New("oidc: no signing keys could be fetched")
	errKeyNotFound = errors.New("oidc: no key of the key set verifies the token")
)

// keySet is one fetched JWKS, never changed once published.
type keySet struct {
	keys    []jwk
	fetched time.Time
	expires time.Time // when the set is stale and worth fetching again
	// gen counts the sets that dropped a key: a verified token cached
	// under an older gen is verified again, so a key the provider
	// withdrew stops verifying tokens at once.
	gen uint64
}

// find returns the keys of s that may verify a token signed with alg
// under kid. A token without kid may be verified only when exactly one
// key fits its alg: trying every key would make one forged token cost as
// many verifications as the set has keys.
func (s *keySet) find(kid, alg string) []jwk {
	if s == nil {
		return nil
	}
	var out []jwk
	for _, k := range s.keys {
		if (kid == "" || k.kid == kid) && (k.alg == "" || k.alg == alg) && fits(alg, k.key) {
			out = append(out, k)
		}
	}
	if kid == "" && len(out) > 1 {
		return nil
	}
	return out
}

// keySource fetches and caches the provider's keys. It runs no goroutine
// of its own: a request that needs a fetch makes it, bounded by the fetch
// timeout and shared with the requests that need it at the same time.
//
// Fetches are rate limited: after a fetch (or a failed one) the next
// starts no sooner than minRefresh later, whatever tokens arrive, so a
// flood of unknown key ids costs the provider one request per interval.
// A failed fetch, an error status, a body that is not a key set, or a set
// without one usable key keeps the keys already held.
type keySource struct {
	client     *http.Client
	issuer     string
	jwksURL    string // "" until discovery found it, when not configured
	timeout    time.Duration
	minRefresh time.Duration
	defaultAge time.Duration // a set's lifetime when its response says none
	maxAge     time.Duration
	now        func() time.Time
	log        *slog.Logger

	set atomic.Pointer[keySet]

	mu          sync.Mutex
	lastAttempt time.Time // zero: never
	inflight    *fetchCall
	fetches     atomic.Int64 // requests sent to the provider, for tests
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// keys returns the keys that may verify a token with kid and alg,
// fetching the set when none is held, when it is stale, or when kid is
// unknown, as far as the rate limit allows.
func (ks *keySource) keys(ctx context.Context, kid, alg string) ([]jwk, error) {
	set := ks.set.Load()
	found := set.find(kid, alg)
	now := ks.now()
	switch {
	case set != nil && len(found) > 0 && now.Before(set.expires):
		return found, nil
	case set != nil && len(found) > 0:
		// Stale: refresh if allowed, without waiting for another
		// request's refresh; the stale keys verify meanwhile.
		_ = ks.refresh(ctx, false) // a failure is logged; the stale keys go on
	default:
		// No keys, or an unknown kid: the provider may have rotated.
		if err := ks.refresh(ctx, true); err != nil && set == nil {
			return nil, fmt.Errorf("%w: %w", errNoKeys, err)
		}
	}
	if found = ks.set.Load().find(kid, alg); len(found) == 0 {
		return nil, errKeyNotFound
	}
	return found, nil
}

// refresh fetches the set when the rate limit allows it, or waits for a
// fetch in flight when wait is set. It returns the fetch's error.
func (ks *keySource) refresh(ctx context.Context, wait bool) error {
	ks.mu.Lock()
	if c := ks.inflight; c != nil {
		ks.mu.Unlock()
		if !wait {
			return nil
		}
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !ks.lastAttempt.IsZero() && ks.now().Sub(ks.lastAttempt) < ks.minRefresh {
		ks.mu.Unlock()
		return nil
	}
	c := &fetchCall{done: make(chan struct{})}
	ks.inflight, ks.lastAttempt = c, ks.now()
	ks.mu.Unlock()

	// Detached from the request that happens to make it: the others
	// waiting for it must not fail because that one went away.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ks.timeout)
	c.err = ks.fetch(fctx)
	cancel()
	if c.err != nil {
		ks.log.LogAttrs(ctx, slog.LevelWarn, "oidc signing keys could not be fetched; the keys held are kept",
			slog.String("error", c.err.Error()))
	}
	ks.mu.Lock()
	ks.inflight = nil
	ks.mu.Unlock()
	close(c.done)
	return c.err
}

// fetch discovers the key set's URL if needed, fetches the set and
// publishes it.
func (ks *keySource) fetch(ctx context.Context) error {
	ks.mu.Lock()
	u := ks.jwksURL
	ks.mu.Unlock()
	if u == "" {
		var err error
		if u, err = ks.discover(ctx); err != nil {
			return err
		}
		ks.mu.Lock()
		ks.jwksURL = u
		ks.mu.Unlock()
	}
	body, header, err := ks.get(ctx, u)
	if err != nil {
		return err
	}
	keys, skipped, err := parseSet(body)
	if err != nil {
		return err
	}
	if skipped > 0 {
		ks.log.LogAttrs(ctx, slog.LevelWarn, "oidc key set holds keys that cannot be used; they are skipped",
			slog.Int("skipped", skipped), slog.Int("usable", len(keys)))
	}
	now := ks.now()
	next := &keySet{keys: keys, fetched: now, expires: now.Add(ks.lifetime(header, now))}
	if prev := ks.set.Load(); prev != nil {
		next.gen = prev.gen
		if dropsKey(prev.keys, keys) {
			next.gen++
		}
	}
	ks.set.Store(next)
	return nil
}

// discover reads the issuer's OpenID Provider metadata for its jwks_uri.
// The metadata's issuer must be the configured one (OpenID Connect
// Discovery 1.0, section 4.3).
func (ks *keySource) discover(ctx context.Context) (string, error) {
	body, _, err := ks.get(ctx, strings.TrimSuffix(ks.issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return "", err
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return "", errors.New("oidc: the discovery document is not JSON")
	}
	if meta.Issuer != ks.issuer {
		return "", errors.New("oidc: the discovery document names another issuer")
	}
	if err := checkURL(meta.JWKSURI); err != nil {
		return "", fmt.Errorf("oidc: the discovery document's jwks_uri: %w", err)
	}
	return meta.JWKSURI, nil
}

// get fetches u: a 200 answer's body, at most maxDocumentBytes.
func (ks *keySource) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	ks.fetches.Add(1)
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return nil, nil, fmt.Errorf("oidc: %s answered %d", u, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "text/html" {
			return nil, nil, fmt.Errorf("oidc: %s answered an HTML page", u)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxDocumentBytes {
		return nil, nil, fmt.Errorf("oidc: %s answered more than %d bytes", u, maxDocumentBytes)
	}
	return body, resp.Header, nil
}

// parseSet parses a JWKS: its usable keys, and how many keys it skipped
// (malformed, or not for signatures). A set without one usable key is an
// error: publishing it would lock every caller out.
func parseSet(body []byte) ([]jwk, int, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, errors.New("oidc: the key set is not a JWKS")
	}
	var keys []jwk
	skipped := 0
	for _, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil || len(keys) == maxKeys {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("oidc: the key set has no usable signing key")
	}
	return keys, skipped, nil
}

// dropsKey reports whether next lacks a key of prev.
func dropsKey(prev, next []jwk) bool {
	for _, p := range prev {
		kept := false
		for _, n := range next {
			if p.kid == n.kid && equalKeys(p, n) {
				kept = true
				break
			}
		}
		if !kept {
			return true
		}
	}
	return false
}

type equaler interface{ Equal(x any) bool }

func equalKeys(a, b jwk) bool {
	e, ok := a.key.(equaler)
	return ok && e.Equal(b.key)
}

// lifetime is how long a set fetched now with header stays fresh: its
// Cache-Control max-age (or Expires), else defaultAge, within
// [minRefresh, maxAge].
func (ks *keySource) lifetime(h http.Header, now time.Time) time.Duration {
	age, ok := maxAge(h.Get("Cache-Control"))
	if !ok {
		if t, err := http.ParseTime(h.Get("Expires")); err == nil {
			age, ok = t.Sub(now), true
		}
	}
	if !ok {
		age = ks.defaultAge
	}
	return min(max(age, ks.minRefresh), ks.maxAge)
}

// maxAge reads max-age from a Cache-Control value; no-store and no-cache
// are an age of zero.
func maxAge(cc string) (time.Duration, bool) {
	if cc == "" {
		return 0, false
	}
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return 0, true
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
			if err != nil || n < 0 {
				return 0, false
			}
			return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second, true
		}
	}
	return 0, false
}
