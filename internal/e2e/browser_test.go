package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const vkBrowser = "vk-e2e-browser"

// browserSidecarYAML runs the sidecar in demo mode (no provider key: the
// built-in fake upstream mints) with allowedOrigin in cors.allowed_origins.
const browserSidecarYAML = `
listen: 127.0.0.1:0
demo: true
providers:
  openai:
    keys:
      - id: primary
        value: ${OPENAI_API_KEY:-}
virtual_keys:
  - id: browser
    value: ${E2E_VK_BROWSER}
    models: [gpt-realtime]
    max_ttl: 5m
cors:
  allowed_origins: ["%s"]
`

// TestBrowserMintsCrossOrigin drives headless Chromium through the
// sidecar's demo page, served from a second loopback origin the way a voice
// app's page is served from its own site, and from a third origin that the
// sidecar does not allow.
func TestBrowserMintsCrossOrigin(t *testing.T) {
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")

	// The page hosts listen first: the allowed one's origin goes into the
	// sidecar's config. Both serve the page the sidecar serves.
	var page atomic.Pointer[[]byte]
	appOrigin := pageHost(t, &page)
	otherOrigin := pageHost(t, &page)
	sc := startSidecar(t, buildSidecar(t), fmt.Sprintf(browserSidecarYAML, appOrigin), "E2E_VK_BROWSER="+vkBrowser)

	status, body := get(t, sc.URL+"/demo/")
	require.Equal(t, http.StatusOK, status, "the sidecar serves its demo page in demo mode")
	page.Store(&body)

	browser := newBrowser(t, chromium)
	sidecarParam := "/demo/?sidecar=" + url.QueryEscape(sc.URL)

	t.Run("allowed origin mints", func(t *testing.T) {
		before := time.Now().Unix()
		got := mintInPage(browser, t, appOrigin+sidecarParam, vkBrowser, 120)
		require.Equal(t, "ok", got.State, "page status: %s", got.Status)
		assert.Equal(t, sc.URL, got.Sidecar, "the page minted at the sidecar, not at its own origin")
		assert.Regexp(t, `^ek_[0-9a-f]+$`, got.Value)
		assert.GreaterOrEqual(t, got.ExpiresAt, before+120, "the requested 120 s lifetime")
		assert.LessOrEqual(t, got.ExpiresAt, time.Now().Unix()+120)
		assert.Regexp(t, `^expires in \d+ s$`, got.Countdown)
		assert.NotEmpty(t, got.Expires, "the expiry is shown as a time")
		assert.Empty(t, got.CORSErrors)
	})

	t.Run("allowed origin reads the sidecar's error", func(t *testing.T) {
		got := mintInPage(browser, t, appOrigin+sidecarParam, "vk-e2e-not-a-key", 120)
		require.Equal(t, "error", got.State)
		assert.Equal(t, "401: the virtual key is not valid", got.Status,
			"CORS headers on errors let the page show the OpenAI-shaped message")
		assert.Empty(t, got.CORSErrors)
	})

	t.Run("origin not allowed is refused by the browser", func(t *testing.T) {
		got := mintInPage(browser, t, otherOrigin+sidecarParam, vkBrowser, 120)
		require.Equal(t, "error", got.State)
		assert.Contains(t, got.Status, "TypeError: Failed to fetch", "fetch() rejected without a status")
		assert.Empty(t, got.Value)
		require.NotEmpty(t, got.CORSErrors, "Chromium reports the refusal as a CORS error")
		assert.Equal(t, network.CorsErrorPreflightMissingAllowOriginHeader, got.CORSErrors[0],
			"the preflight answer carried no Access-Control-Allow-Origin")
	})

	t.Run("page served by the sidecar mints same-origin", func(t *testing.T) {
		// Also proves the page's Content-Security-Policy hashes let its
		// inline script run: otherwise the click does nothing.
		got := mintInPage(browser, t, sc.URL+"/demo/", vkBrowser, 60)
		require.Equal(t, "ok", got.State, "page status: %s", got.Status)
		assert.Equal(t, sc.URL, got.Sidecar)
		assert.Regexp(t, `^ek_`, got.Value)
	})

	// The refused origin's mint never left the browser: the sidecar counted
	// only the mints of the other three cases.
	want := map[string]int{"200": 2, "401": 1}
	metrics := metricsWhen(t, sc.URL+"/metrics", func(m []byte) bool { return reflect.DeepEqual(want, mintsByStatus(t, m)) })
	assert.Equal(t, want, mintsByStatus(t, metrics))
	assert.NotContains(t, sc.logs.String(), vkBrowser, "the virtual key never reaches the log")
}

// pageResult is what the demo page shows after a mint.
type pageResult struct {
	State     string `json:"state"`
	Status    string `json:"status"`
	Sidecar   string `json:"sidecar"`
	Value     string `json:"value"`
	ExpiresAt int64  `json:"expiresAt"`
	Expires   string `json:"expires"`
	Countdown string `json:"countdown"`

	CORSErrors []network.CorsError `json:"-"`
}

// mintInPage opens pageURL in a new tab, types the virtual key and the
// lifetime as a person would, clicks Mint and returns what the page shows,
// with the CORS errors Chromium reported meanwhile.
func mintInPage(browser context.Context, t *testing.T, pageURL, vk string, ttl int) pageResult {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()

	var (
		mu      sync.Mutex
		corsErr []network.CorsError
	)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventLoadingFailed); ok && e.CorsErrorStatus != nil {
			mu.Lock()
			corsErr = append(corsErr, e.CorsErrorStatus.CorsError)
			mu.Unlock()
		}
	}))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.ID("go")),
		chromedp.SetValue(chromedp.ID("vk"), vk),
		chromedp.SetValue(chromedp.ID("ttl"), strconv.Itoa(ttl)),
		chromedp.Click(chromedp.ID("go")),
	))
	_, err := chromedp.Run(ctx, chromedp.Poll[string](
		`['ok', 'error'].includes(document.getElementById('result').dataset.state) && document.getElementById('result').dataset.state`,
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the page settles on ok or error")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`(() => {
		const $ = (id) => document.getElementById(id);
		return {
			state: $('result').dataset.state,
			status: $('status').textContent,
			sidecar: $('sidecar').value,
			value: $('value').textContent,
			expiresAt: Number($('result').dataset.expiresAt || 0),
			expires: $('expires').textContent,
			countdown: $('countdown').textContent,
		};
	})()`))
	require.NoError(t, err)
	mu.Lock()
	got.CORSErrors = corsErr
	mu.Unlock()
	return got
}

// newBrowser starts headless Chromium with a fresh profile and the flags
// this machine needs (no background traffic to the closed network; no
// sandbox as root), and extra. It is stopped by t.Cleanup.
func newBrowser(t *testing.T, chromium string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var out lockedBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.CombinedOutput(&out),
	)
	opts = append(opts, extra...)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	// The first Do starts the browser; its context must have no timeout.
	require.NoError(t, chromedp.Do(browser), "start %s", chromium)
	return browser
}

// pageHost serves the page in p at /demo/ from its own loopback origin, and
// returns that origin.
func pageHost(t *testing.T, p *atomic.Pointer[[]byte]) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := p.Load()
		if r.URL.Path != "/demo/" || body == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(*body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var (
	mintSample  = regexp.MustCompile(`^realtimesecret_mints_total\{([^}]*)\} (\d+)$`)
	statusLabel = regexp.MustCompile(`status="(\d+)"`)
)

// mintsByStatus sums the sidecar's client_secrets mint counter by status.
func mintsByStatus(t *testing.T, exposition []byte) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(string(exposition), "\n") {
		m := mintSample.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[1], `endpoint="client_secrets"`) {
			continue
		}
		status := statusLabel.FindStringSubmatch(m[1])
		require.NotNil(t, status, line)
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		out[status[1]] += n
	}
	return out
}
