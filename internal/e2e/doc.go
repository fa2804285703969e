// Package e2e holds the end-to-end suites that drive the middleware with the
// clients its users actually run: the official OpenAI Go SDK, the official
// OpenAI Node SDK, and a browser (headless Chromium through chromedp) against
// the realtimesecretd sidecar.
//
// It is a module of its own so that the library's go.mod carries neither the
// SDK nor chromedp; a replace directive points it at the working tree.
//
// Run it from the repository root with
//
//	make test-e2e
//
// or by hand:
//
//	(cd internal/e2e/node && npm ci)
//	cd internal/e2e && GOFLAGS=-mod=mod go test -race -v ./...
//
// (-mod=mod lets this module's go.mod follow the library's requirements,
// which it sees through the replace directive, without a separate tidy.)
//
// The suites: TestGoSDK* (official Go SDK against the middleware in front of
// internal/fakeupstream: mints, brokered WebRTC calls and GPT-Live sessions
// with their hang-ups and errors, no retry into a second session after an
// upstream timeout; TestGoSDKSessionsThroughSidecar against the
// realtimesecretd binary), TestNodeSDK (node --test on node/realtime.test.mjs
// against the same stack), TestBrowserMintsCrossOrigin (builds and starts
// realtimesecretd in demo mode, serves its demo page from other loopback
// origins and drives Chromium through it),
// TestBrowserWebRTCCallThroughBroker (Chromium's real RTCPeerConnection
// offer brokered to a pion WebRTC peer playing the upstream: the data
// channel opens over loopback and receives an event), TestBrowserEKGuideFlow
// (OpenAI's WebRTC guide by hand through the sidecar: an ek_ minted at the
// sidecar, the page's raw SDP offer fetched to {sidecar}/v1/realtime/calls
// from another origin; a second concurrent call of a max_sessions: 1 key is
// 429 before the provider, the first is capped and metered) and
// TestBrowserEKAgentsSDK (the same with @openai/agents-realtime's own
// WebRTC transport, bundled for the page with esbuild from
// node/agents-webrtc.mjs).
//
// TestBrowserJWTCookieSessions (browserjwt_test.go) is end users in the
// browser: realtimesecretd with auth.jwt against internal/fakeidp, the
// ID token in the app's HttpOnly session cookie, the app's pages behind
// the sidecar's upstream so the cookie is first-party. A free user
// (max_sessions: 1) mints and brokers a call with Chromium's real offer
// (201, then 429 too_many_sessions before the provider; her hang-up frees
// the lease), a pro user brokers three at once; pages on other origins
// posting with the cookie Chromium attaches (cross-site with third-party
// cookies allowed, same-site on another port, no-cors) get 403
// cross_site_request for the mint, the call and the hang-up, and create
// nothing; an expired token is 401; no token or cookie reaches the log.
//
// TestNodeSDKProviders and TestGoSDKXAI (providers_test.go) run the
// realtimesecretd binary with openai, xai and gemini providers in front of
// internal/fakeupstream, internal/fakexai and internal/fakegemini, and
// virtual keys with models, max_ttl, max_uses and rate_limit. openai-node
// (node/providers.test.mjs) and the Go SDK mint xAI secrets on
// {sidecar}/xai/v1 and on /v1 with xai/<model>; @google/genai mints Gemini
// Live auth tokens with its baseUrl {sidecar}/gemini. Each checks the
// lifetime clamp, the models, uses and rate limit, the refusals as the
// SDK's errors (OpenAI's shape for xAI, Google's for Gemini), what the fakes
// received (only what the provider accepts, with the provider key), the
// redemption of the secret and the token (@google/genai's live.connect)
// through the sidecar, attributed at the existing proxy and held to
// max_sessions, and that no key and no minted credential is in the
// sidecar's log. TestGoSDKXAISealed
// does it with seal_keys: the Go SDK gets an ek_rs_ secret, and a
// WebSocket presenting it in xAI's subprotocol through the sidecar reaches
// the provider end with xAI's secret and opens with the protocol it
// offered, the upstream secret never handed to the client.
//
// The Node and browser suites need node (and internal/e2e/node/node_modules)
// and Debian's chromium. Outside CI a missing tool skips its suite; with
// CI=true it fails it, so a CI machine that lost a tool cannot pass silently.
package e2e
