// Package oidc authenticates the end users of an app with the JSON Web
// Tokens their OpenID Connect provider signs (Auth0, Okta, Entra ID,
// Keycloak, Dex, Google, ...), for the middleware: a Verifier's Authorize
// method is a realtimesecret.Authorizer.
//
//	v, err := oidc.New(oidc.Config{
//		Issuer:    "https://login.example.com/",
//		Audiences: []string{"realtime-api"},
//		PolicyClaim: "plan",
//		Policies: map[string]oidc.Policy{
//			"free": {Models: []string{"gpt-realtime-mini"}, MaxSessions: 1},
//			"pro":  {MaxSessions: 5},
//		},
//		DefaultPolicy: "free",
//	})
//	cfg.Authorizer = v.Authorize
//
// The token comes as "Authorization: Bearer <token>" or, for browsers, in
// Config.Cookie. It must be signed with an allowed asymmetric algorithm
// (RS256, ES256 and EdDSA by default; never "none", never an HMAC
// algorithm, so a public key cannot be used as a shared secret), by a key
// of the provider's key set whose type and curve fit the algorithm, with
// the configured issuer, one of the audiences, an expiry, and the
// required claims, within the clock skew. Config.UserClaim (sub) names
// the user, the Principal's ID; Config.PolicyClaim picks the user's
// Policy, the limits a virtual key would have. A bad token, for whatever
// reason, including a provider that is down, slow or answers garbage, is
// a 401 in OpenAI's shape: never a 5xx, and nothing reaches the upstream.
//
// Keys. The key set is read from Config.JWKSURL or the jwks_uri of the
// issuer's discovery document, when the first token needs it, and used
// for its response's Cache-Control max-age (an hour when it says none,
// never past Config.MaxKeysLifetime). A token whose key id is unknown
// makes the set be fetched again, for a rotation without restart, but
// fetches are at least Config.MinRefreshInterval apart, however many
// tokens arrive: a flood of made-up key ids costs the provider one
// request per interval. A fetch that fails, an error status, an HTML page
// or a set without one usable key leaves the keys held in use; a
// malformed key beside good ones is skipped. A key the provider withdraws
// stops verifying at once, cached tokens included. The Verifier runs no
// goroutine: a fetch is made by the request that needs it, shared with
// the requests that need it meanwhile.
//
// Verified tokens are remembered by their SHA-256 until they expire
// (Config.MaxCachedTokens of them): a repeated token costs a hash and a
// map lookup, about 2 µs against 100 µs for an RS256 verification.
//
// # Why golang-jwt/jwt/v5
//
// Three libraries were weighed. github.com/coreos/go-oidc/v3 verifies ID
// tokens for one client ID (these are access tokens with several
// audiences), brings golang.org/x/oauth2 and go-jose, and its remote key
// set fetches again on every unknown key id, with no interval between
// fetches and no use of Cache-Control. github.com/lestrrat-go/jwx/v3 does
// everything, with a dozen modules and a key cache that runs background
// goroutines needing their own shutdown, which this project keeps out of
// its handlers. github.com/golang-jwt/jwt/v5 is small, has no
// dependencies, is the most used JWT library in Go, and does the part
// that must not be got wrong: parsing the compact form, refusing
// algorithms outside an allow list, checking a signature with the key
// type the algorithm needs, and validating exp, nbf, iat, iss and aud
// with a leeway. Its companion github.com/MicahParks/keyfunc/v3 would add
// two more modules (jwkset, x/time) and a refresh goroutine, and still not
// honour Cache-Control; the key set is therefore this package's own
// (jwks.go: about 250 lines, standard library only), which is what lets
// it meet the rules above. The library module gains one dependency.
//
// Tests run against internal/fakeidp, an httptest provider that serves
// discovery and a rotating key set and misbehaves on demand: Dex cannot be
// built on the machines the tests run on.
package oidc
