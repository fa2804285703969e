// Package gemini is the contract.Provider for the Gemini API's Live API
// ephemeral tokens. The middleware serves Google's own route under the
// provider's scope only,
//
//	POST /{provider}/v1alpha/auth_tokens    (contract.EndpointAuthToken)
//
// with Google's request and answer shapes, so that Google's Gen AI SDK
// pointed at the middleware works unchanged:
//
//	const ai = new GoogleGenAI({apiKey: VIRTUAL_KEY, httpOptions: {apiVersion: "v1alpha", baseUrl: "https://sidecar.example/gemini"}});
//	const token = await ai.authTokens.create({config: {uses: 1, liveConnectConstraints: {model: "gemini-live-2.5-flash-preview"}}});
//
// The SDK sends the virtual key in x-goog-api-key, which the middleware
// reads like Authorization: Bearer. The middleware admits the request as
// a mint (virtual key, policy, rate limit, key choice) and checks Google's
// fields against the policy before anything is sent: the model of
// bidiGenerateContentSetup (required when the caller may mint for some
// models only), uses (1 up to VirtualKey.MaxUses; 0, unlimited, is never
// allowed), expireTime (within VirtualKey.MaxTTL; injected when the
// request has none and MaxTTL is shorter than Google's 30 minutes) and
// newSessionExpireTime (within a minute). Mint then posts the body to
//
//	POST {BaseURL}/v1alpha/auth_tokens
//
// with "x-goog-api-key: <key>", and hands back Google's answer,
// {"name":"auth_tokens/..."}, whatever its status. The Provider renders
// the middleware's errors on that route in Google's shape
// (contract.ErrorRenderer), {"error":{"code","message","status","details"}},
// with the middleware's code as the ErrorInfo reason, and declares how
// clients present the token (contract.SecretFormatter): in the Live
// WebSocket's ?access_token= as @google/genai does, or as
// "Authorization: Token" as the Python SDK does, so that a connection
// through the middleware (the sidecar's WebSocket path) is attributed.
//
// Gemini has none of OpenAI's mint or session endpoints: on
// /{provider}/v1/realtime/... they are 400 unsupported_endpoint, and the
// Provider implements neither contract.SessionBroker nor SessionWatcher.
//
//	p, err := gemini.New(gemini.Config{})
//	if err != nil {
//		return err
//	}
//	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{Name: "gemini", Provider: p, Keys: keys})
package gemini
