package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeidp"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// End users in the browser: the voice app's users are signed in with an
// OpenID Connect provider (internal/fakeidp), and the app keeps the ID
// token in its session cookie, HttpOnly, so page JavaScript never holds a
// credential. The app's pages and the sidecar are one origin: the
// sidecar's upstream is the app's page server, so the cookie is
// first-party and every fetch to the sidecar's routes is same-origin.
// auth.jwt reads the token from the cookie and picks the user's policy by
// its plan claim.

const (
	upstreamKeyJWT = "sk-e2e-jwt-key" // the sidecar's provider key, known to the fake
	jwtAudience    = "realtime-api"
	jwtCookie      = "id_token"
)

// jwtSidecarYAML: pages on the sidecar's origin; another origin (%s, the
// page server's under the name localhost) allowed by CORS with
// credentials but not trusted with the cookie.
const jwtSidecarYAML = `
listen: 127.0.0.1:0
upstream: ${E2E_JWT_APP}
default_provider: openai
log_flush_interval: 0s
providers:
  openai:
    base_url: ${E2E_JWT_UPSTREAM}
    keys:
      - id: primary
        value: ${E2E_JWT_PROVIDER_KEY}
auth:
  jwt:
    issuer: ${E2E_JWT_ISSUER}
    audiences: [` + jwtAudience + `]
    cookie: ` + jwtCookie + `
    policy_claim: plan
    policies:
      free: {models: [gpt-realtime], max_sessions: 1}
      pro: {models: [gpt-realtime], max_sessions: 3}
    default_policy: free
cors:
  allowed_origins: ["%s"]
  allow_credentials: true
`

// TestBrowserJWTCookieSessions drives headless Chromium as the app's
// visitors, each in a browser context of its own (its own cookie jar),
// signed in through the app, which sets the ID token the test identity
// provider signed as its session cookie:
//
//   - alice (plan free, max_sessions 1) mints a client secret and brokers a
//     WebRTC call with the browser's real offer from the app's page: 200
//     and 201, the answer applied; a second concurrent call is 429
//     too_many_sessions before anything reaches the provider; her hang-up
//     (cookie, same-origin) frees the lease for another call.
//   - bob (plan pro, max_sessions 3) brokers three calls at once.
//   - Pages on other origins POST with whatever cookie Chromium attaches,
//     as Chromium's own record of each request shows: from localhost
//     (cross-site, allowed by CORS with credentials) carol's SameSite=None
//     cookie stays home with Chromium's defaults (third-party cookies
//     blocked: 401), and in a browser that allows third-party cookies it
//     goes along and the sidecar refuses the mint, the call and the
//     hang-up of her own call, 403 cross_site_request, read by the page;
//     alice's SameSite=Lax cookie stays home cross-site (401); from
//     127.0.0.1 on another port (same-site, not allowed by CORS, a no-cors
//     multipart POST as a form would send) the Lax cookie goes along and
//     the sidecar answers 403. Nothing is minted, created or hung up
//     upstream.
//   - An expired token in the cookie is 401 for the mint and the call.
//
// No token, cookie value, provider key or minted secret is in the
// sidecar's log.
func TestBrowserJWTCookieSessions(t *testing.T) {
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")

	idp := fakeidp.New()
	t.Cleanup(idp.Close)
	fake := fakeupstream.New(fakeupstream.Options{Keys: []string{upstreamKeyJWT}, Models: []string{"gpt-realtime"}})
	upSrv := httptest.NewServer(fake)
	t.Cleanup(func() {
		fake.Close() // its sidebands are hijacked connections
		upSrv.Close()
	})
	app := newJWTApp(t)
	crossSite := strings.Replace(app.URL, "127.0.0.1", "localhost", 1) // the page server, another site
	sameSite := app.URL                                                // the page server, same host, another port

	sc := startSidecar(t, buildSidecar(t), fmt.Sprintf(jwtSidecarYAML, crossSite),
		"E2E_JWT_APP="+app.URL, "E2E_JWT_UPSTREAM="+upSrv.URL, "E2E_JWT_PROVIDER_KEY="+upstreamKeyJWT,
		"E2E_JWT_ISSUER="+idp.Issuer())
	mints := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Path == fakeupstream.PathClientSecrets {
				n++
			}
		}
		return n
	}

	sign := func(sub, plan string, exp time.Time) string {
		c := idp.Claims(sub, jwtAudience)
		c["plan"] = plan
		c["exp"] = exp.Unix()
		if exp.Before(time.Now()) {
			c["iat"], c["nbf"] = exp.Add(-time.Hour).Unix(), exp.Add(-time.Hour).Unix()
		}
		return idp.Sign(c)
	}
	in := time.Now().Add(time.Hour)
	tokens := map[string]string{
		"alice": sign("alice", "free", in),
		"bob":   sign("bob", "pro", in),
		"carol": sign("carol", "pro", in),
		"dave":  sign("dave", "pro", time.Now().Add(-10*time.Minute)),
	}
	app.signIn(tokens, map[string]bool{"carol": true})

	browser := newBrowser(t, chromium, chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"))

	// alice signs in: the app (through the sidecar, on its origin) sets
	// the cookie and sends her to its page.
	alice := newVisitor(t, browser)
	alicePage := openJWTPage(t, alice, sc.URL+"/app/login?user=alice")
	assert.False(t, evalJWT[bool](t, alicePage, `cookieVisible()`), "the session cookie is HttpOnly: the page never holds the token")
	assert.Equal(t, sc.URL+"/app/", evalJWT[string](t, alicePage, `location.href`))

	t.Run("free user mints and brokers one call", func(t *testing.T) {
		m := jwtMint(t, alicePage, "", "same-origin", "cors")
		require.Equal(t, http.StatusOK, m.Status, m.Body)
		var secret struct {
			Value     string `json:"value"`
			ExpiresAt int64  `json:"expires_at"`
		}
		require.NoError(t, json.Unmarshal([]byte(m.Body), &secret), m.Body)
		assert.Regexp(t, `^ek_`, secret.Value)
		assert.Greater(t, secret.ExpiresAt, time.Now().Unix())
		assert.Equal(t, 1, mints())
		assert.True(t, alicePage.sentCookie("POST", "/v1/realtime/client_secrets"), "Chromium sent the cookie with the mint")
		line := awaitLogLine(t, sc, "realtime mint", "virtual_key_id", "alice")
		assert.Equal(t, "user", line["principal_kind"])
		assert.Equal(t, "free", line["policy"])

		first := jwtCall(t, alicePage, "", "same-origin", "cors")
		require.Empty(t, first.Error, "page error (steps %v)", first.Steps)
		require.Equal(t, http.StatusCreated, first.Status, first.Body)
		assert.Equal(t, "application/sdp", first.ContentType)
		assert.Regexp(t, `^/v1/realtime/calls/rtc_[0-9a-f]+$`, first.Location)
		assert.Equal(t, []string{"offer", "answer applied"}, first.Steps, "the browser applied the provider's answer")
		assert.Equal(t, "stable", first.SignalingState)
		assert.Equal(t, 1, fake.SessionsCreated())
		created, ok := fake.LastRequest(upstreamCallsPath)
		require.True(t, ok)
		assert.Equal(t, "Bearer "+upstreamKeyJWT, created.Header.Get("Authorization"), "the call was created with the provider key")
		assert.Empty(t, created.Header.Get("Cookie"), "the user's cookie does not go to the provider")
		assert.Contains(t, string(created.Body), "a=fingerprint:", "the browser's own offer")

		second := jwtCall(t, alicePage, "", "same-origin", "cors")
		require.Empty(t, second.Error, "page error (steps %v)", second.Steps)
		assert.Equal(t, http.StatusTooManyRequests, second.Status)
		assert.Equal(t, "too_many_sessions", apiErrorCode(t, second.Body), second.Body)
		assert.Contains(t, second.Body, "user alice")
		assert.Equal(t, 1, fake.SessionsCreated(), "the refused call reached nothing upstream")

		// Her hang-up, with the cookie from her page, frees the lease.
		id := first.Location[strings.LastIndexByte(first.Location, '/')+1:]
		hung := evalJWT[jwtFetch](t, alicePage, `hangup('', `+jsString(id)+`, 'same-origin')`)
		require.Equal(t, http.StatusOK, hung.Status, hung.Body)
		s, ok := fake.Session(id)
		require.True(t, ok)
		assert.False(t, s.Active(), "hung up at the provider")
		third := jwtCall(t, alicePage, "", "same-origin", "cors")
		require.Equal(t, http.StatusCreated, third.Status, "a call after the hang-up: %s", third.Body)
		assert.Equal(t, 2, fake.SessionsCreated())
	})

	t.Run("pro user brokers three at once", func(t *testing.T) {
		bobPage := openJWTPage(t, newVisitor(t, browser), sc.URL+"/app/login?user=bob")
		before := fake.SessionsCreated()
		got := evalJWT[[]jwtCallResult](t, bobPage, `Promise.all([0, 1, 2].map(() => call('', 'same-origin', 'cors')))`)
		require.Len(t, got, 3)
		for i, c := range got {
			assert.Empty(t, c.Error, "call %d", i)
			assert.Equal(t, http.StatusCreated, c.Status, "call %d: %s", i, c.Body)
		}
		assert.Equal(t, before+3, fake.SessionsCreated())
		fourth := jwtCall(t, bobPage, "", "same-origin", "cors")
		assert.Equal(t, http.StatusTooManyRequests, fourth.Status, fourth.Body)
		assert.Equal(t, before+3, fake.SessionsCreated())
	})

	t.Run("cross-site pages are refused", func(t *testing.T) {
		// carol's cookie is SameSite=None (an app embedded elsewhere).
		// With this Chromium's defaults it stays home all the same: the
		// profile blocks third-party cookies.
		carolDefault := newVisitor(t, browser)
		openJWTPage(t, carolDefault, sc.URL+"/app/login?user=carol")
		blocked := openJWTPage(t, carolDefault, crossSite+"/evil/")
		c := jwtCall(t, blocked, sc.URL, "include", "cors")
		assert.Equal(t, http.StatusUnauthorized, c.Status, c.Body)
		assert.False(t, blocked.sentCookie("POST", "/v1/realtime/calls"))
		assert.Contains(t, blocked.blockedBecause("POST", "/v1/realtime/calls"), string(network.CookieBlockedReasonUserPreferences),
			"Chromium blocks third-party cookies by default")

		// In a browser that allows third-party cookies, Chromium sends it
		// with the cross-site page's credentialed fetch, CORS lets the page
		// read the answer, and the sidecar refuses the mint, the call and
		// the hang-up of carol's own call.
		carol := newBrowser(t, chromium, allowThirdPartyCookies(t)...)
		carolApp := openJWTPage(t, carol, sc.URL+"/app/login?user=carol")
		own := jwtCall(t, carolApp, "", "same-origin", "cors")
		require.Equal(t, http.StatusCreated, own.Status, own.Body)
		ownID := own.Location[strings.LastIndexByte(own.Location, '/')+1:]
		created, minted := fake.SessionsCreated(), mints()

		evil := openJWTPage(t, carol, crossSite+"/evil/")
		m := jwtMint(t, evil, sc.URL, "include", "cors")
		require.Empty(t, m.Error)
		assert.Equal(t, http.StatusForbidden, m.Status, m.Body)
		assert.Equal(t, "cross_site_request", apiErrorCode(t, m.Body), m.Body)
		c = jwtCall(t, evil, sc.URL, "include", "cors")
		require.Empty(t, c.Error, "page error (steps %v)", c.Steps)
		assert.Equal(t, http.StatusForbidden, c.Status, c.Body)
		assert.Equal(t, "cross_site_request", apiErrorCode(t, c.Body), c.Body)
		hung := evalJWT[jwtFetch](t, evil, `hangup(`+jsString(sc.URL)+`, `+jsString(ownID)+`, 'include')`)
		require.Empty(t, hung.Error)
		assert.Equal(t, http.StatusForbidden, hung.Status, hung.Body)
		assert.Equal(t, "cross_site_request", apiErrorCode(t, hung.Body), hung.Body)
		s, ok := fake.Session(ownID)
		require.True(t, ok)
		assert.True(t, s.Active(), "the cross-site hang-up reached nothing upstream")
		for _, path := range []string{"/v1/realtime/client_secrets", "/v1/realtime/calls", "/v1/realtime/calls/" + ownID + "/hangup"} {
			assert.True(t, evil.sentCookie("POST", path), "Chromium sent the SameSite=None cookie cross-site to %s", path)
			assert.Equal(t, []string{"cross-site"}, evil.secFetchSite("POST", path), path)
		}
		refused := awaitLogWith(t, sc, "realtime mint", map[string]any{"code": "cross_site_request", "virtual_key_id": "carol"})
		assert.Equal(t, 403.0, refused["status"], refused)
		awaitLogWith(t, sc, "realtime session", map[string]any{"endpoint": "calls_hangup", "code": "cross_site_request", "virtual_key_id": "carol"})

		// alice's cookie is the app's SameSite=Lax: from another site
		// Chromium leaves it out, and the sidecar sees no credential.
		aliceCross := openJWTPage(t, alice, crossSite+"/evil/")
		c = jwtCall(t, aliceCross, sc.URL, "include", "cors")
		assert.Equal(t, http.StatusUnauthorized, c.Status, c.Body)
		assert.False(t, aliceCross.sentCookie("POST", "/v1/realtime/calls"), "a Lax cookie stays home on a cross-site POST")
		assert.Contains(t, aliceCross.blockedBecause("POST", "/v1/realtime/calls"), string(network.CookieBlockedReasonSameSiteLax))

		// From the same host on another port (same-site, so even the Lax
		// cookie goes along), not allowed by CORS: the multipart POST
		// needs no preflight and the page gets an opaque answer; Chromium
		// saw the sidecar's 403.
		aliceSameSite := openJWTPage(t, alice, sameSite+"/evil/")
		c = jwtCall(t, aliceSameSite, sc.URL, "include", "no-cors")
		require.Empty(t, c.Error, "page error (steps %v)", c.Steps)
		assert.Equal(t, "opaque", c.Type)
		assert.True(t, aliceSameSite.sentCookie("POST", "/v1/realtime/calls"), "a Lax cookie goes along to the same site")
		assert.Equal(t, []string{"same-site"}, aliceSameSite.secFetchSite("POST", "/v1/realtime/calls"))
		assert.Equal(t, []int{http.StatusForbidden}, aliceSameSite.statuses("POST", "/v1/realtime/calls"), "the sidecar refused it")
		refused = awaitLogWith(t, sc, "realtime session", map[string]any{"code": "cross_site_request", "virtual_key_id": "alice"})
		assert.Equal(t, "user", refused["principal_kind"], "the refusal names the user")

		assert.Equal(t, created, fake.SessionsCreated(), "no cross-site request created a session")
		assert.Equal(t, minted, mints(), "no cross-site request minted")
	})

	t.Run("expired token", func(t *testing.T) {
		created, minted := fake.SessionsCreated(), mints()
		dave := openJWTPage(t, newVisitor(t, browser), sc.URL+"/app/login?user=dave")
		m := jwtMint(t, dave, "", "same-origin", "cors")
		assert.Equal(t, http.StatusUnauthorized, m.Status, m.Body)
		c := jwtCall(t, dave, "", "same-origin", "cors")
		assert.Equal(t, http.StatusUnauthorized, c.Status, c.Body)
		assert.Contains(t, c.Body, `"type":"authentication_error"`)
		assert.True(t, dave.sentCookie("POST", "/v1/realtime/calls"), "the expired token went along")
		assert.Equal(t, created, fake.SessionsCreated())
		assert.Equal(t, minted, mints())
	})

	logs := sc.logs.String()
	for name, tok := range tokens {
		assert.NotContains(t, logs, tok, "%s's token reaches no log line", name)
		// A token's signature alone, too (a log could cut the header off).
		assert.NotContains(t, logs, tok[strings.LastIndexByte(tok, '.')+1:], "%s's token reaches no log line", name)
	}
	assert.NotContains(t, logs, jwtCookie+"=", "no cookie header in the log")
	assert.NotContains(t, logs, upstreamKeyJWT)
	assert.NotRegexp(t, `ek_[0-9a-f]{8}`, logs, "no minted secret in the log")
}

// awaitLogWith waits (10 s) for the sidecar's JSON log line msg with every
// key of want at its value, and returns it.
func awaitLogWith(t *testing.T, sc *sidecarProc, msg string, want map[string]any) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(sc.logs.String(), "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(l), &line) != nil || line["msg"] != msg {
				continue
			}
			match := true
			for k, v := range want {
				match = match && line[k] == v
			}
			if match {
				return line
			}
		}
		require.False(t, time.Now().After(deadline), "no %q line with %v in the sidecar's log", msg, want)
		time.Sleep(20 * time.Millisecond)
	}
}

// jwtApp is the voice app's page server: /app/ (the page), /app/login
// (signs a user in: the ID token in the session cookie) and /evil/ (the
// same page, for other origins).
type jwtApp struct {
	*httptest.Server

	mu           sync.Mutex
	tokens       map[string]string // user to the ID token the IdP issued
	sameSiteNone map[string]bool   // users whose cookie is SameSite=None
}

// signIn sets the users the app knows: their tokens, and those whose
// cookie is SameSite=None.
func (a *jwtApp) signIn(tokens map[string]string, sameSiteNone map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens, a.sameSiteNone = tokens, sameSiteNone
}

func newJWTApp(t *testing.T) *jwtApp {
	t.Helper()
	a := &jwtApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app/", "/evil/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, jwtAppPage)
		case "/app/login":
			a.mu.Lock()
			user := r.URL.Query().Get("user")
			tok, none := a.tokens[user], a.sameSiteNone[user]
			a.mu.Unlock()
			if tok == "" {
				http.Error(w, "no such user", http.StatusForbidden)
				return
			}
			c := &http.Cookie{Name: jwtCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
			if none {
				c.SameSite, c.Secure = http.SameSiteNoneMode, true
			}
			http.SetCookie(w, c)
			http.Redirect(w, r, "/app/", http.StatusSeeOther)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// allowThirdPartyCookies returns the options of a browser whose profile
// allows third-party cookies (Chromium's "Allow third-party cookies").
func allowThirdPartyCookies(t *testing.T) []chromedp.ExecAllocatorOption {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "Default"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Default", "Preferences"),
		[]byte(`{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}`), 0o600))
	return []chromedp.ExecAllocatorOption{chromedp.UserDataDir(dir)}
}

// newVisitor returns a browser context of its own (its own cookie jar) in
// browser, for one visitor.
func newVisitor(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "a new browser context")
	return ctx
}

// jwtPage is a tab with what Chromium's network layer sent and received.
type jwtPage struct {
	ctx context.Context

	mu      sync.Mutex
	log     []string
	reqs    map[network.RequestID]*jwtRequest
	ordered []network.RequestID
}

// jwtRequest is one request as Chromium sent it.
type jwtRequest struct {
	method, url  string
	cookie       bool     // an id_token cookie in the Cookie header it sent
	secFetchSite string   // its Sec-Fetch-Site
	status       int      // the answer's status, opaque to the page or not
	blocked      []string // why Chromium left the id_token cookie out
}

// openJWTPage opens url in a new tab of the visitor's context (60 s for
// everything done there) and waits for the app's page to be ready.
func openJWTPage(t *testing.T, visitor context.Context, url string) *jwtPage {
	t.Helper()
	tab, closeTab := chromedp.NewContext(visitor)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancel)
	p := &jwtPage{ctx: ctx, reqs: map[network.RequestID]*jwtRequest{}}
	req := func(id network.RequestID) *jwtRequest {
		r := p.reqs[id]
		if r == nil {
			r = &jwtRequest{}
			p.reqs[id] = r
			p.ordered = append(p.ordered, id)
		}
		return r
	}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			r := req(e.RequestID)
			r.method, r.url = e.Request.Method, e.Request.URL
		case *network.EventRequestWillBeSentExtraInfo:
			r := req(e.RequestID)
			for _, c := range e.AssociatedCookies {
				if c.Cookie.Name == jwtCookie {
					for _, b := range c.BlockedReasons {
						r.blocked = append(r.blocked, string(b))
					}
				}
			}
			for k, v := range e.Headers {
				s, _ := v.(string)
				switch strings.ToLower(k) {
				case "cookie":
					r.cookie = strings.Contains(s, jwtCookie+"=")
				case "sec-fetch-site":
					r.secFetchSite = s
				}
			}
		case *network.EventResponseReceivedExtraInfo:
			r := req(e.RequestID)
			r.status = int(e.StatusCode)
		case *runtime.EventExceptionThrown:
			p.log = append(p.log, exceptionText(e.ExceptionDetails))
		}
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.appReady === true`, chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the page did not load; page errors: %q", p.errors())
	return p
}

// blockedBecause returns why Chromium left the cookie out of such
// requests.
func (p *jwtPage) blockedBecause(method, path string) []string {
	var out []string
	for _, r := range p.requests(method, path) {
		out = append(out, r.blocked...)
	}
	return out
}

func (p *jwtPage) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// requests returns the requests of method to a URL whose path is path,
// once Chromium has reported what it sent and received for each (the
// extra-info events may follow the answer the page saw).
func (p *jwtPage) requests(method, path string) []jwtRequest {
	var out []jwtRequest
	deadline := time.Now().Add(5 * time.Second)
	for {
		out = out[:0]
		complete := true
		p.mu.Lock()
		for _, id := range p.ordered {
			r := p.reqs[id]
			if r.method == method && strings.HasSuffix(strings.SplitN(r.url, "?", 2)[0], path) {
				out = append(out, *r)
				complete = complete && r.secFetchSite != "" && r.status != 0
			}
		}
		p.mu.Unlock()
		if complete || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sentCookie reports whether Chromium sent the id_token cookie with every
// such request (false when there was none).
func (p *jwtPage) sentCookie(method, path string) bool {
	rs := p.requests(method, path)
	for _, r := range rs {
		if !r.cookie {
			return false
		}
	}
	return len(rs) > 0
}

func (p *jwtPage) secFetchSite(method, path string) []string {
	var out []string
	for _, r := range p.requests(method, path) {
		out = append(out, r.secFetchSite)
	}
	return out
}

func (p *jwtPage) statuses(method, path string) []int {
	var out []int
	for _, r := range p.requests(method, path) {
		out = append(out, r.status)
	}
	return out
}

// evalJWT evaluates expr in the page, awaiting a promise.
func evalJWT[T any](t *testing.T, p *jwtPage, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "%s (page errors %q)", expr, p.errors())
	return v
}

// jwtFetch is what the page's mint and hangup report.
type jwtFetch struct {
	Status int    `json:"status"`
	Type   string `json:"type"` // the Response's type: basic, cors, opaque
	Body   string `json:"body"`
	Error  string `json:"error"`
}

func jwtMint(t *testing.T, p *jwtPage, base, credentials, mode string) jwtFetch {
	t.Helper()
	got := evalJWT[jwtFetch](t, p, `mint(`+jsString(base)+`, `+jsString(credentials)+`, `+jsString(mode)+`)`)
	t.Logf("mint: status %d, %d bytes, %s", got.Status, len(got.Body), got.Error)
	return got
}

// jwtCallResult is what the page's call reports.
type jwtCallResult struct {
	Status         int      `json:"status"`
	Type           string   `json:"type"`
	ContentType    string   `json:"contentType"`
	Location       string   `json:"location"`
	Body           string   `json:"body"` // the answer when not 201
	SignalingState string   `json:"signalingState"`
	Error          string   `json:"error"`
	Steps          []string `json:"steps"`
}

func jwtCall(t *testing.T, p *jwtPage, base, credentials, mode string) jwtCallResult {
	t.Helper()
	got := evalJWT[jwtCallResult](t, p, `call(`+jsString(base)+`, `+jsString(credentials)+`, `+jsString(mode)+`)`)
	t.Logf("call: %+v", got)
	return got
}

// jwtAppPage is the voice app's page: no credential in it, the session
// cookie rides along. call makes a real offer (an audio transceiver and
// the "oai-events" data channel) and brokers it with the multipart form
// of /v1/realtime/calls; its peer connections stay open in window.pcs.
const jwtAppPage = `<!doctype html>
<meta charset="utf-8">
<title>realtimesecret e2e: a signed-in user's voice app</title>
<script>
window.pcs = [];
function within(ms, what, p) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms))]);
}
function cookieVisible() { return document.cookie.includes('id_token'); }
async function mint(base, credentials, mode) {
  const out = {};
  try {
    const res = await within(10000, 'POST /v1/realtime/client_secrets', fetch(base + '/v1/realtime/client_secrets', {
      method: 'POST', credentials, mode,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: { type: 'realtime', model: 'gpt-realtime' } }),
    }));
    out.status = res.status;
    out.type = res.type;
    out.body = await res.text();
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
async function hangup(base, id, credentials) {
  const out = {};
  try {
    const res = await within(10000, 'hangup', fetch(base + '/v1/realtime/calls/' + id + '/hangup', { method: 'POST', credentials }));
    out.status = res.status;
    out.type = res.type;
    out.body = await res.text();
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
async function call(base, credentials, mode) {
  const out = { steps: [] };
  const pc = new RTCPeerConnection();
  window.pcs.push(pc);
  try {
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    pc.createDataChannel('oai-events');
    await pc.setLocalDescription(await pc.createOffer());
    out.steps.push('offer');
    const form = new FormData();
    form.set('sdp', pc.localDescription.sdp);
    form.set('session', JSON.stringify({ type: 'realtime', model: 'gpt-realtime' }));
    const res = await within(10000, 'POST /v1/realtime/calls', fetch(base + '/v1/realtime/calls', { method: 'POST', body: form, credentials, mode }));
    out.status = res.status;
    out.type = res.type;
    out.contentType = res.headers.get('Content-Type');
    out.location = res.headers.get('Location');
    const text = await res.text();
    if (res.status !== 201) {
      out.body = text;
      pc.close();
      return out;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
    out.steps.push('answer applied');
    out.signalingState = pc.signalingState;
  } catch (e) {
    out.error = String(e);
    pc.close();
  }
  return out;
}
window.appReady = true;
</script>
<p>a signed-in user's voice app</p>
`
