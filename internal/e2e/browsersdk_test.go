package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sdkSidecarYAML is browserSidecarYAML with a default provider, so that
// the SDK's bare model names mint.
var sdkSidecarYAML = strings.Replace(browserSidecarYAML, "demo: true\n", "demo: true\ndefault_provider: openai\n", 1)

// sdkPage loads openai-node from the page's own origin as ES modules (its
// browser build is the package's .mjs files) and exposes mint(), which
// mints a client secret at the sidecar the way an app's page would with the
// official SDK.
const sdkPage = `<!doctype html>
<meta charset="utf-8">
<title>openai-node in the browser</title>
<script type="module">
import OpenAI from "/openai/index.mjs";
window.mint = async (baseURL, apiKey, model) => {
  const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
  try {
    const s = await client.realtime.clientSecrets.create({
      session: { type: "realtime", model },
      expires_after: { anchor: "created_at", seconds: 120 },
    });
    return { value: s.value, expiresAt: s.expires_at, model: s.session && s.session.model };
  } catch (e) {
    return { error: String(e && e.message || e), status: e && e.status || 0 };
  }
};
window.sdkReady = true;
</script>
`

// sdkResult is what mint() returns.
type sdkResult struct {
	Value     string `json:"value"`
	ExpiresAt int64  `json:"expiresAt"`
	Model     string `json:"model"`
	Error     string `json:"error"`
	Status    int    `json:"status"`
}

// TestBrowserOpenAINodeSDK: the official openai-node SDK, running in
// headless Chromium with dangerouslyAllowBrowser, mints a client secret at
// a CORS-enabled sidecar on another loopback origin. Its preflight asks for
// the X-Stainless-* headers the SDK sends; before the sidecar allowed them
// the browser refused the mint.
func TestBrowserOpenAINodeSDK(t *testing.T) {
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")
	sdkDir, err := filepath.Abs(filepath.Join("node", "node_modules", "openai"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(sdkDir, "index.mjs")); err != nil {
		missingTool(t, "node/node_modules is not installed: run npm ci in internal/e2e/node")
	}

	appOrigin := sdkPageHost(t, sdkDir)
	sc := startSidecar(t, buildSidecar(t), fmt.Sprintf(sdkSidecarYAML, appOrigin), "E2E_VK_BROWSER="+vkBrowser)
	browser := newBrowser(t, chromium)

	t.Run("mints cross-origin with the SDK", func(t *testing.T) {
		before := time.Now().Unix()
		got, corsErrs := mintWithSDK(browser, t, appOrigin, sc.URL+"/v1", vkBrowser, "gpt-realtime")
		require.Empty(t, got.Error, "status %d", got.Status)
		assert.Empty(t, corsErrs)
		assert.Regexp(t, `^ek_[0-9a-f]+$`, got.Value)
		assert.GreaterOrEqual(t, got.ExpiresAt, before+120)
		assert.Equal(t, "gpt-realtime", got.Model, "the bare model went to the default provider")
	})

	t.Run("the SDK surfaces the sidecar's error", func(t *testing.T) {
		got, corsErrs := mintWithSDK(browser, t, appOrigin, sc.URL+"/v1", vkBrowser, "gpt-4o-realtime-preview")
		assert.Empty(t, corsErrs)
		assert.Equal(t, http.StatusForbidden, got.Status)
		assert.Contains(t, got.Error, `the virtual key may not mint for model "gpt-4o-realtime-preview"`)
		assert.Empty(t, got.Value)
	})

	// The preflights carried the SDK's headers and were allowed: nothing
	// was refused.
	assert.NotContains(t, sc.logs.String(), "cors preflight refused")
	assert.NotContains(t, sc.logs.String(), vkBrowser, "the virtual key never reaches the log")
}

// mintWithSDK opens the SDK page on origin in a new tab, calls mint() and
// returns its result, with the CORS errors Chromium reported meanwhile.
func mintWithSDK(browser context.Context, t *testing.T, origin, baseURL, apiKey, model string) (sdkResult, []network.CorsError) {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	var (
		mu      sync.Mutex
		corsErr []network.CorsError
		console []string // page errors, for a failure's message
	)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventLoadingFailed:
			if e.CorsErrorStatus != nil {
				corsErr = append(corsErr, e.CorsErrorStatus.CorsError)
			}
		case *runtime.EventExceptionThrown:
			console = append(console, exceptionText(e.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			console = append(console, e.Entry.Text+" "+e.Entry.URL)
		}
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(origin+"/sdk/")))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.sdkReady === true`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, err, "the page loads openai-node; page errors: %q", console)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[sdkResult](
		fmt.Sprintf(`window.mint(%q, %q, %q)`, baseURL, apiKey, model), chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return got, corsErr
}

// sdkPageHost serves the SDK page at /sdk/ and openai-node's files under
// /openai/ from its own loopback origin, and returns that origin.
func sdkPageHost(t *testing.T, sdkDir string) string {
	t.Helper()
	files := http.StripPrefix("/openai/", http.FileServer(http.Dir(sdkDir)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/sdk/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(sdkPage))
		case r.URL.Path == "/openai/internal/auth/x509-transport-state.js":
			// The SDK's ESM graph probes this Node-only CommonJS module and
			// falls back to its browser state when the probe finds nothing,
			// which is what a bundler's browser build gives it.
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write([]byte("export {};\n"))
		case strings.HasPrefix(r.URL.Path, "/openai/") && strings.HasSuffix(r.URL.Path, ".mjs"):
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return ""
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}
