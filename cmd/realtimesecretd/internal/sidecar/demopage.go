package sidecar

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// DemoPagePath is where the sidecar serves its demo page in demo mode: a
// page that mints a client secret with fetch(), as a voice app does, and
// shows when it expires; and that brokers a WebRTC call from a real
// browser offer, shows the answer and the call id, and hangs it up.
const DemoPagePath = "/demo/"

//go:embed demopage/index.html demopage/page.js demopage/page.css
var demoFiles embed.FS

var demoTemplate = template.Must(template.ParseFS(demoFiles, "demopage/index.html"))

// demoPage is the rendered page and the Content-Security-Policy that allows
// exactly its inline script and style.
type demoPage struct {
	body []byte
	csp  string
}

// newDemoPage renders the page for cfg: it mints on the GA route and
// brokers calls on the calls route under cfg's path prefix, with the first
// demo provider's realtime model. When a virtual key has the published
// demo value (demoVirtualKey), the page's virtual key field holds it, so
// the page works at the first click; any other value is a secret and never
// goes into the page.
func newDemoPage(cfg *Config) (*demoPage, error) {
	script, err := demoFiles.ReadFile("demopage/page.js")
	if err != nil {
		return nil, err
	}
	style, err := demoFiles.ReadFile("demopage/page.css")
	if err != nil {
		return nil, err
	}
	model := "gpt-realtime"
	if demo := cfg.DemoProviders(); len(demo) > 0 {
		model = demo[0] + "/" + model
	}
	virtualKey := ""
	for _, vk := range cfg.VirtualKeys {
		if vk.Value.Reveal() == demoVirtualKey && (vk.Active == nil || *vk.Active) {
			virtualKey = demoVirtualKey
		}
	}
	var buf bytes.Buffer
	prefix := strings.TrimSuffix(cfg.PathPrefix, "/")
	err = demoTemplate.Execute(&buf, struct {
		MintPath, CallsPath, Model, VirtualKey string
		Script                                 template.JS
		Style                                  template.CSS
	}{
		MintPath:   prefix + contract.EndpointClientSecret.Path(),
		CallsPath:  prefix + contract.EndpointCall.Path(),
		Model:      model,
		VirtualKey: virtualKey,
		Script:     template.JS(script), //nolint:gosec // our own embedded file, not input
		Style:      template.CSS(style), //nolint:gosec // our own embedded file, not input
	})
	if err != nil {
		return nil, err
	}
	// The page may connect anywhere (?sidecar= points it at another
	// sidecar), but runs no script and loads nothing but its own.
	csp := "default-src 'none'; script-src " + cspHash(script) + "; style-src " + cspHash(style) +
		"; connect-src *; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return &demoPage{body: buf.Bytes(), csp: csp}, nil
}

func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// withDemoPage serves page at DemoPagePath, with or without its trailing
// slash (GET and HEAD), and passes every other request to next.
func withDemoPage(page *demoPage, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page loads nothing relative to its URL, so both forms serve
		// it and no redirect is needed.
		if p := r.URL.Path; p != DemoPagePath && p != strings.TrimSuffix(DemoPagePath, "/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use GET on this path")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(page.body)))
		h.Set("Content-Security-Policy", page.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(page.body)
	})
}
