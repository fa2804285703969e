package realtimesecret

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Authorizer decides whether the caller of r may mint for the intent. It
// returns the Principal the mint is attributed to, or an error: one wrapping
// ErrUnauthenticated (401) or ErrForbidden (403), or an *Error to answer with.
// Other errors answer 500 without their text. With an error, a Principal
// whose ID is set (a caller identified, then refused) is reported in the
// log line and MintEvent.VirtualKeyID; nothing else of it is used.
type Authorizer func(r *http.Request, in Intent) (Principal, error)

// Intent is what a mint request asks for, as the policy sees it.
type Intent struct {
	// Provider is the configured provider name.
	Provider string
	// Model is the requested model, before aliases; "" when the request
	// leaves it to the provider's default.
	Model string
	// Endpoint is the kind of mint.
	Endpoint Endpoint
}

// Principal is who a mint is attributed to.
type Principal struct {
	// ID is recorded as Record.VirtualKeyID. Leases, rate limits and
	// hang-ups go by it: with VirtualKeys configured too, a Principal
	// that takes a virtual key's ID is refused (403 principal_conflict).
	ID string
	// Kind says what ID names, in refusals ("user alice"), records
	// (Record.PrincipalKind) and events: "user" for adapters/oidc,
	// "virtual_key" for a virtual key (set by the middleware), or the
	// app's own word. Empty names it "principal".
	Kind string
	// Policy names the policy the principal was given (adapters/oidc: the
	// policy its claim picked), for the log and the events; "" for none.
	Policy string
	// TokenID identifies the credential the caller authenticated with,
	// for the audit trail: a JWT's jti. Never the credential itself.
	TokenID string
	// MaxTTL caps the secret's lifetime, as VirtualKey.MaxTTL.
	MaxTTL time.Duration
	// RateLimit caps the principal's mints, keyed by ID. Zero means none.
	RateLimit Rate
	// MaxSession caps how long its brokered sessions live, as
	// VirtualKey.MaxSession.
	MaxSession time.Duration
	// MaxSessions caps its concurrent sessions, as
	// VirtualKey.MaxSessions: brokered sessions, and the WebSocket
	// redemptions and calls created with its secrets, which count against
	// the limits recorded with the secret (the Authorizer is not asked
	// again on redemption).
	MaxSessions int
	// GovernanceFailOpen admits the principal's sessions without a lease
	// when the SessionRegistry cannot answer, as Config.GovernanceFailOpen
	// does for everyone. False: 503 governance_unavailable.
	GovernanceFailOpen bool
	// Cookie says the caller was authenticated by a cookie, which a
	// browser sends by itself, also on requests another site makes it
	// send: its cross-site requests to the mint, session and hang-up
	// routes are refused (403 cross_site_request; see
	// Config.CrossOriginProtection). Set it when the app's session is a
	// cookie; adapters/oidc sets it for a token read from its cookie.
	Cookie bool
	// SingleUse makes the secrets minted for it single-use, as
	// VirtualKey.SingleUse.
	SingleUse bool
	// MaxUses caps the uses of its Gemini auth tokens, as
	// VirtualKey.MaxUses. Zero means 1.
	MaxUses int
	// Budget caps what its metered sessions cost per period, as
	// VirtualKey.Budget. The zero value means none.
	Budget contract.Budget
	// AllowUnmeteredMints lets a principal with a Budget mint client
	// secrets, as VirtualKey.AllowUnmeteredMints.
	AllowUnmeteredMints bool
}

// virtualKeys authenticates virtual keys in constant time.
type virtualKeys struct {
	keys   []VirtualKey
	byID   map[string]*VirtualKey
	hashes [][sha256.Size]byte // of keys[i].Value; equal lengths hide nothing
	header string
}

func newVirtualKeys(keys []VirtualKey, header string) *virtualKeys {
	v := &virtualKeys{keys: keys, header: header, hashes: make([][sha256.Size]byte, len(keys)), byID: make(map[string]*VirtualKey, len(keys))}
	for i := range keys {
		v.byID[keys[i].ID] = &keys[i]
		v.hashes[i] = sha256.Sum256([]byte(keys[i].Value))
	}
	return v
}

// byIDOrNil returns the virtual key id, or nil (also on nil v).
func (v *virtualKeys) byIDOrNil(id string) *VirtualKey {
	if v == nil {
		return nil
	}
	return v.byID[id]
}

// find returns the virtual key presented by r, or an *Error (401), and
// reports whether the caller presented one explicitly: in the virtual key
// header or Google's, not as a Bearer value, which may be another
// credential (a JWT).
func (v *virtualKeys) find(r *http.Request) (_ *VirtualKey, _ *Error, explicit bool) {
	presented := headerValue(r.Header, v.header) // canonicalized by New
	explicit = presented != ""
	if presented == "" {
		presented, _ = bearer(headerValue(r.Header, "Authorization"))
	}
	if presented == "" {
		// Where Google's SDKs send their API key: @google/genai pointed
		// at the middleware presents the virtual key here.
		presented = headerValue(r.Header, googAPIKeyHeader)
		explicit = presented != ""
	}
	if presented == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "missing_api_key",
			Message: "a virtual key is required: send Authorization: Bearer <key> or " + v.header}, false
	}
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range v.hashes { // no early exit: every key costs the same
		if subtle.ConstantTimeCompare(h[:], v.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_api_key",
			Message: "the virtual key is not valid"}, explicit
	}
	return &v.keys[found], nil, explicit
}

// principal is who a virtual key's requests are attributed to, with its
// limits.
func (vk *VirtualKey) principal() Principal {
	return Principal{ID: vk.ID, MaxTTL: vk.MaxTTL, RateLimit: vk.RateLimit, MaxSession: vk.MaxSession,
		MaxSessions: vk.MaxSessions, GovernanceFailOpen: vk.GovernanceFailOpen, MaxUses: vk.MaxUses, SingleUse: vk.SingleUse,
		Budget: vk.Budget, AllowUnmeteredMints: vk.AllowUnmeteredMints}
}

// authorize applies a virtual key's policy to the intent.
//
// A hang-up asks only that the key be enabled: whether the caller may end
// the session is decided by who created it.
func (vk *VirtualKey) authorize(in Intent) *Error {
	switch {
	case in.Endpoint.IsHangup() && !vk.Disabled:
		return nil
	case vk.Disabled:
		return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "virtual_key_disabled",
			Message: "the virtual key is disabled"}
	case len(vk.Providers) > 0 && !contains(vk.Providers, in.Provider):
		return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "provider_not_allowed",
			Message: "the virtual key may not mint for provider " + quote(in.Provider)}
	case in.Model == "" && in.Endpoint == contract.EndpointAuthToken && len(vk.Models) > 0 && !matchModel(vk.Models, "*"):
		// A Gemini token without a model opens a session with any.
		return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "bidiGenerateContentSetup.model", Code: "missing_model",
			Message: "bidiGenerateContentSetup.model is required: the virtual key may mint for some models only, and a token without one opens a session with any"}
	case len(vk.Models) > 0 && !matchModel(vk.Models, in.Model):
		return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "model_not_allowed",
			Message: "the virtual key may not mint for model " + quote(in.Model)}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// callers authenticates the caller of a route, with virtual keys or the
// app's Authorizer (or neither: open), and applies its policy.
type callers struct {
	vks        *virtualKeys // nil without virtual keys
	authorizer Authorizer
	// crossOrigin refuses the cross-site requests of callers
	// authenticated by a cookie.
	crossOrigin *http.CrossOriginProtection
}

// authenticate identifies the caller from r's headers alone, before its
// body is read, when virtual keys decide: a caller without a valid key
// costs no body. It returns nil without virtual keys, and for a request
// that presents none when an Authorizer decides those (it is asked with
// the intent, once the body has named it).
func (c *callers) authenticate(r *http.Request) (*VirtualKey, *Error) {
	if c.vks == nil {
		return nil, nil
	}
	vk, e, explicit := c.vks.find(r)
	if e != nil && c.authorizer != nil && !explicit {
		return nil, nil // not a virtual key: the Authorizer's
	}
	return vk, e
}

// authorize authenticates the caller, unless authenticate found its
// virtual key vk already, and applies its policy to in. On a refusal the
// Principal holds the caller's ID when it was identified.
func (c *callers) authorize(r *http.Request, vk *VirtualKey, in Intent) (Principal, *Error) {
	if vk == nil && c.vks != nil {
		var e *Error
		if vk, e = c.authenticate(r); e != nil {
			return Principal{}, e
		}
	}
	switch {
	case vk != nil:
		if e := vk.authorize(in); e != nil {
			// The caller is identified: its ID goes to the log and the event.
			return Principal{ID: vk.ID, Kind: kindVirtualKey}, e
		}
		p := vk.principal()
		p.Kind = kindVirtualKey
		return p, nil
	case c.authorizer != nil:
		p, err := c.authorizer(r, in)
		if err == nil {
			switch {
			case p.Kind == kindVirtualKey || c.vks.byIDOrNil(p.ID) != nil:
				// Leases, rates and hang-ups go by ID: a user named like a
				// virtual key must not share them.
				return refused(p), &Error{Status: http.StatusForbidden, Type: typePermission, Code: "principal_conflict",
					Message: describe(p.Kind, p.ID) + " has the ID of a virtual key, and may not mint while it does"}
			case p.Cookie && c.crossOrigin.Check(r) != nil:
				// A cookie rides along on requests other sites make: a page
				// elsewhere must not mint or hang up as the user.
				return refused(p), &Error{Status: http.StatusForbidden, Type: typePermission, Code: "cross_site_request",
					Message: "a request authenticated by a cookie must come from this site (or a trusted origin)"}
			}
			return p, nil
		}
		// An Authorizer that identified the caller before refusing it may
		// return its ID with the error, for the log and the event.
		who := refused(p)
		var e *Error
		switch {
		case errors.As(err, &e):
			return who, e
		case errors.Is(err, ErrUnauthenticated):
			return who, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "unauthenticated",
				Message: "authentication is required", Err: err}
		case errors.Is(err, ErrForbidden):
			return who, &Error{Status: http.StatusForbidden, Type: typePermission, Code: "forbidden",
				Message: "the caller may not mint this client secret", Err: err}
		default:
			return who, &Error{Status: http.StatusInternalServerError, Type: typeServer, Code: "authorizer_error",
				Message: "the request could not be authorized", Err: err}
		}
	}
	return Principal{}, nil
}

// kindVirtualKey is Principal.Kind of a virtual key.
const kindVirtualKey = "virtual_key"

// describe names a principal in refusals, without secrets: "virtual key
// web", "user alice", "principal bob"; "the caller" when minting is open.
func describe(kind, id string) string {
	if id == "" {
		return "the caller"
	}
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	switch kind {
	case "":
		kind = "principal"
	case kindVirtualKey:
		kind = "virtual key"
	}
	return kind + " " + id
}

// refused returns who p is, for the log line and the event of a refusal:
// its ID, kind, policy and token ID, none of its limits (the request is
// refused, nothing is counted against them).
func refused(p Principal) Principal {
	return Principal{ID: p.ID, Kind: p.Kind, Policy: p.Policy, TokenID: p.TokenID}
}

// principalOf returns who minted the token or created the session rec
// records, with its session limits and budget: a virtual key's as
// configured now (a record of before kinds were recorded is a virtual
// key's when one has its ID), any other principal's as recorded. Nil v
// has no virtual keys.
func (v *virtualKeys) principalOf(rec *Record) Principal {
	if rec.PrincipalKind == "" || rec.PrincipalKind == kindVirtualKey {
		if vk := v.byIDOrNil(rec.VirtualKeyID); vk != nil {
			p := vk.principal()
			p.Kind = kindVirtualKey
			return p
		}
	}
	return Principal{ID: rec.VirtualKeyID, Kind: rec.PrincipalKind, MaxSessions: rec.MaxSessions,
		MaxSession: rec.MaxSession, GovernanceFailOpen: rec.GovernanceFailOpen, Budget: rec.Budget}
}
