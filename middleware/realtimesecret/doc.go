// Package realtimesecret mints OpenAI Realtime client secrets (ephemeral
// "ek_" keys) for browsers and phones, so that the real provider key stays
// on the server.
//
// It is net/http middleware. It answers the mint routes
//
//	POST /v1/realtime/client_secrets                 (GA)
//	POST /v1/realtime/translations/client_secrets    (GA translation)
//	POST /v1/realtime/sessions                       (beta)
//	POST /v1/realtime/transcription_sessions         (beta)
//
// and the same under /{provider}/ for every configured provider, and passes
// every other request to the next handler untouched. On /v1/... routes the
// model is written "provider/model"; on /{provider}/v1/... the provider is
// implied.
//
// A mint checks, in order: the Content-Type, the body size, that the body
// is one JSON object without repeated keys that select the model, the
// model, the provider, the caller (a VirtualKey or an Authorizer) and its
// policy (providers, models, rate, maximum TTL). It then picks an upstream
// Key by weight, resolves its aliases, rewrites only the model (and expiry)
// bytes of the client's JSON, and asks the provider's adapter to mint.
// Errors are OpenAI-shaped JSON, so the official SDKs surface them.
//
// Every minted token is recorded in a Store (by its SHA-256) until it
// expires. A later request that carries the token, as "Authorization:
// Bearer ek_..." or the WebSocket subprotocol "openai-insecure-api-key.ek_...",
// passes through with its Record in the context: see FromContext.
//
// Brokered sessions. The middleware also answers
//
//	POST /v1/realtime/calls                          (WebRTC call: multipart sdp + session, or application/sdp)
//	POST /v1/live/sessions                           (GPT-Live: JSON session + transport)
//	POST /v1/realtime/calls/{call_id}/hangup
//	POST /v1/live/sessions/{session_id}/hangup
//
// A browser posts its SDP offer there with its virtual key (or the app's
// session) and gets the SDP answer; the session is created upstream with a
// provider key, through the same checks as a mint, so the browser never
// holds a provider credential. The call or session id is recorded like a
// token: requests that name it (?call_id= on the Realtime WebSocket path,
// /v1/live/sessions/{id}/attach) are attributed, and only its creator may
// hang it up. A request on these paths that carries an "ek_" token is the
// client using a minted secret with the provider: it passes through.
// Providers broker sessions by implementing SessionBroker. Each request
// to these routes is reported through Config.OnSession and logged as
// "realtime session"; a mint is reported through Config.OnMint and logged
// as "realtime mint".
//
// Governance. A VirtualKey (or Principal) may cap how long its
// brokered sessions live (MaxSession: ended upstream at the deadline) and
// how many of its sessions run at once (MaxSessions: brokered sessions and
// WebSocket redemptions; one more is 429 too_many_sessions), and
// Handler.EndSessions ends a key's live sessions. A shared SessionRegistry
// (adapters/redisstore) makes these hold across nodes.
//
// Usage metering (Config.UsageMetering, opt-in). For each brokered session
// the middleware attaches a read-only sideband WebSocket with the upstream
// key that created it (SessionWatcher: GET /v1/realtime?call_id=... for a
// call, /v1/live/sessions/{id}/attach?graceful_close=false for GPT-Live),
// relays no media, and sums what the provider reports on it: a call's
// response.done tokens (input and output, with their audio, text and cached
// details, each response id once) and a Live session's seconds (the last
// running total of session.usage.updated, or the final one of
// session.closed). A dropped sideband is opened again, with jittered
// backoff, while the session's record lives; a sideband never affects its
// session. When the session ends (its sideband says so, a hang-up, a cap,
// a revocation) its usage is reported once, through Config.OnUsage and one
// log line, and a sideband that saw the end releases the session's lease.
// Handler.Close stops every sideband and waits for it. Metering runs on
// the node that created the session. Caps and revocations end a Live
// session with session.close on a sideband attach when the adapter
// implements SessionWatcher, and with its hang-up otherwise.
//
// Three packages sit beside this one. Package contract is what adapter
// and store authors implement (Provider, with the optional SessionBroker
// and SessionWatcher found by type assertion; Store, SessionRegistry,
// RateLimiter) and imports nothing of the middleware: adapters/openai and
// adapters/azure implement the providers, adapters/redisstore the stores
// across nodes. Package memory holds the in-process stores used when a
// Config field is nil. Package realtimesecrettest has helpers for tests.
// This package imports no adapter. docs/design.md walks a request through
// the files.
//
// Middleware suits a Config whose work ends with each request. A Config
// with a shared SessionRegistry or usage metering runs goroutines that
// only Handler.Close stops: Middleware refuses it, and New with a deferred
// Close serves it.
//
// Usage with chi:
//
//	r := chi.NewRouter()
//	r.Use(realtimesecret.Middleware(cfg))
//
// and with the standard library:
//
//	http.ListenAndServe(addr, realtimesecret.Middleware(cfg)(mux))
//
// End users. An Authorizer (adapters/oidc has one for OpenID Connect
// tokens) may stand beside VirtualKeys: a request that presents a virtual
// key is the key's, any other the Authorizer's. A principal's limits are
// recorded with each secret minted for it, so its redemptions count
// against them on any node; SingleUse secrets pass their first redemption
// only; a caller authenticated by a cookie (Principal.Cookie) may not use
// the routes from another site (Config.CrossOriginProtection).
// docs/identity.md has the details.
//
// WARNING: without VirtualKeys or an Authorizer anyone who reaches the mint
// routes can mint; put the app's authentication in front.
package realtimesecret
