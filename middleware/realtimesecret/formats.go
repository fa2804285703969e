package realtimesecret

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// secretFormats recognizes the client secrets of the providers whose
// adapters declare a contract.SecretFormat (xAI's in its own subprotocol,
// Gemini's auth_tokens/... in ?access_token= or "Authorization: Token"),
// beside OpenAI's "ek_" ones, which ephemeralToken reads. It is compiled
// once, from every provider's format, so that a pass-through request costs
// a byte check per Authorization scheme and nothing more unless it may
// carry one.
type secretFormats struct {
	auth         []authFormat
	subprotocols []string
	query        []queryFormat
}

// authFormat is the secrets presented with one Authorization scheme.
type authFormat struct {
	scheme   string // as declared; compared case-insensitively
	prefixes []string
	// first has bit b set when a credential after "scheme " may start
	// with b: a prefix's first byte, or a space (or a non-ASCII rune's
	// first byte) that the trim before the compare removes.
	first [256]bool
}

// queryFormat is a query parameter that carries secrets with a prefix.
type queryFormat struct{ name, prefix string }

// newSecretFormats compiles the formats of list; nil when no provider
// declares one that recognizes anything.
func newSecretFormats(list []*provider) *secretFormats {
	f := &secretFormats{}
	for _, p := range list {
		if p.format != nil {
			f.add(*p.format)
		}
	}
	if len(f.auth) == 0 && len(f.subprotocols) == 0 && len(f.query) == 0 {
		return nil
	}
	return f
}

func (f *secretFormats) add(sf contract.SecretFormat) {
	if sf.Subprotocol != "" && !contains(f.subprotocols, sf.Subprotocol) {
		f.subprotocols = append(f.subprotocols, sf.Subprotocol)
	}
	if sf.Prefix == "" {
		return
	}
	if sf.QueryParam != "" {
		f.query = append(f.query, queryFormat{name: sf.QueryParam, prefix: sf.Prefix})
	}
	scheme := sf.AuthScheme
	if scheme == "" {
		scheme = "Bearer"
	}
	i := 0
	for i < len(f.auth) && !strings.EqualFold(f.auth[i].scheme, scheme) {
		i++
	}
	if i == len(f.auth) {
		a := authFormat{scheme: scheme}
		for _, c := range []byte(" \t\n\v\f\r") {
			a.first[c] = true
		}
		for c := utf8.RuneSelf; c < len(a.first); c++ {
			a.first[c] = true
		}
		f.auth = append(f.auth, a)
	}
	f.auth[i].prefixes = append(f.auth[i].prefixes, sf.Prefix)
	f.auth[i].first[sf.Prefix[0]] = true
}

// mayCarry reports whether r may carry a secret of one of the formats:
// token(r) may be non-empty. It is the pass-through's pre-filter: an
// Authorization value is looked at one byte past its scheme, and a query
// only on a request that can open a WebSocket. Subprotocols are not
// looked at: a request that can open a WebSocket with one never takes the
// fast path.
func (f *secretFormats) mayCarry(r *http.Request) bool {
	for _, v := range r.Header["Authorization"] {
		for i := range f.auth {
			a := &f.auth[i]
			if n := len(a.scheme) + 1; len(v) > n && a.first[v[n]] && v[n-1] == ' ' && strings.EqualFold(v[:n-1], a.scheme) {
				return true
			}
		}
	}
	if len(f.query) == 0 || r.URL.RawQuery == "" || (r.Method != http.MethodGet && r.Method != http.MethodConnect) {
		return false
	}
	for _, q := range f.query {
		if strings.Contains(r.URL.RawQuery, q.name+"=") {
			return true
		}
	}
	return false
}

// token returns the secret of one of the formats r carries, or "": in the
// Authorization header with a format's scheme and prefix, and, on a
// request that can open a WebSocket, in a format's subprotocol or query
// parameter. f may be nil.
func (f *secretFormats) token(r *http.Request) string {
	if f == nil {
		return ""
	}
	for _, v := range r.Header["Authorization"] {
		for i := range f.auth {
			if tok := f.auth[i].read(v); tok != "" {
				return tok
			}
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodConnect {
		return ""
	}
	if len(f.subprotocols) > 0 {
		for _, v := range r.Header["Sec-Websocket-Protocol"] {
			for v != "" {
				var item string
				item, v, _ = strings.Cut(v, ",")
				item = strings.TrimSpace(item)
				for _, sub := range f.subprotocols {
					if tok, ok := strings.CutPrefix(item, sub); ok && tok != "" && !strings.ContainsAny(tok, " \t") {
						return tok
					}
				}
			}
		}
	}
	if r.URL.RawQuery == "" {
		return ""
	}
	for _, q := range f.query {
		if tok := queryValue(r.URL.RawQuery, q.name); strings.HasPrefix(tok, q.prefix) && len(tok) > len(q.prefix) && !strings.ContainsAny(tok, " \t") {
			return tok
		}
	}
	return ""
}

// read returns the credential of an Authorization value of a's scheme
// when it starts with one of a's prefixes, or "".
func (a *authFormat) read(v string) string {
	n := len(a.scheme)
	if len(v) <= n+1 || v[n] != ' ' || !strings.EqualFold(v[:n], a.scheme) {
		return ""
	}
	tok := strings.TrimSpace(v[n+1:])
	for _, p := range a.prefixes {
		if strings.HasPrefix(tok, p) && len(tok) > len(p) && !strings.ContainsAny(tok, " \t") {
			return tok
		}
	}
	return ""
}

// queryValue returns the first value of name in a raw query, unescaped,
// or "". It allocates only to unescape.
func queryValue(query, name string) string {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				return ""
			}
			return u
		}
		return v
	}
	return ""
}
