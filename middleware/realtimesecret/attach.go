package realtimesecret

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/internal/recordctx"
)

// realtimePath is the Realtime WebSocket path; a sideband connects to it
// with ?call_id= naming a brokered call.
const realtimePath = "/v1/realtime"

// sessionDomain starts what HashSessionID hashes. No token starts with it
// (tokens start with "ek_"), so a session id and a token never share a
// TokenHash in one Store.
const sessionDomain = "realtimesecret session\x00"

// HashSessionID returns the TokenHash a brokered session's Record is stored
// under: a SHA-256 of the call or session id in a namespace of its own, so
// that it never collides with a token's HashToken.
func HashSessionID(id string) contract.TokenHash {
	var buf [len(sessionDomain) + 128]byte // ids are at most 128 bytes (validSessionID)
	if len(id) > 128 {
		return sha256.Sum256([]byte(sessionDomain + id))
	}
	n := copy(buf[:], sessionDomain)
	n += copy(buf[n:], id)
	return sha256.Sum256(buf[:n])
}

// LookupSession returns the record of a brokered session: who created it
// with which key, when, and until when it is kept. An unknown or expired id
// is (Record{}, false, nil); err means the store could not answer.
func (h *Handler) LookupSession(ctx context.Context, id string) (Record, bool, error) {
	rec, ok, err := h.store.Get(ctx, HashSessionID(id))
	if err != nil || !ok {
		return Record{}, false, err
	}
	if !h.storeExpires && !h.now().Before(rec.ExpiresAt) {
		return Record{}, false, nil
	}
	return rec, true, nil
}

// sessionRef returns the brokered session id a pass-through request names,
// with the endpoint that creates such a session and the provider the path
// is scoped to (nil on an unscoped path), or "": the Live session id in
// /v1/live/sessions/{id}/attach, or the call id in ?call_id= on the
// Realtime WebSocket path. Other requests cost a look at the last byte.
func (h *Handler) sessionRef(r *http.Request) (string, Endpoint, *provider) {
	path := r.URL.Path
	if path == "" {
		return "", 0, nil
	}
	// The last byte first: most pass-through paths end in neither suffix,
	// and are told apart without a compare.
	switch path[len(path)-1] {
	case 'h': // .../attach
		if rt, id, ok := h.sessionPath(path, attachSuffix); ok && rt.endpoint == contract.EndpointLiveSession {
			return id, contract.EndpointLiveSession, rt.provider
		}
	case 'e': // .../v1/realtime
		if r.URL.RawQuery == "" || !strings.HasSuffix(path, realtimePath) {
			return "", 0, nil
		}
		scope, ok := h.realtimePaths[path]
		if !ok {
			return "", 0, nil
		}
		if id := queryValue(r.URL.RawQuery, "call_id"); validSessionID(id) {
			return id, contract.EndpointCall, scope
		}
	}
	return "", 0, nil
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

// attributeSession puts the record of the session id in r's context, as
// redeem does for a token, and reports the redemption. A session created
// by another endpoint than created (a Live session id in ?call_id=), or by
// another provider than the one the path is scoped to, is not the one the
// request names: it is not found, as on a hang-up.
func (h *Handler) attributeSession(r *http.Request, id string, created Endpoint, scope *provider) *http.Request {
	rec, found, err := h.LookupSession(r.Context(), id)
	if err != nil {
		h.log.LogAttrs(r.Context(), warnLevel, "realtime session lookup failed", errAttr(err))
	}
	if found && (rec.Endpoint != created || scope != nil && rec.Provider != scope.name) {
		rec, found = Record{}, false
	}
	if found {
		r = r.WithContext(recordctx.With(r.Context(), &rec))
	}
	if h.onRedeem != nil {
		h.onRedeem(RedeemEvent{Request: r, Record: rec, Found: found, Err: err})
	}
	return r
}
