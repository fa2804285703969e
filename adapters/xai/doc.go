// Package xai is the contract.Provider for xAI's Voice Agent API, whose
// client secrets are minted the OpenAI way:
//
//	POST {BaseURL}/v1/realtime/client_secrets    {"expires_after":{"seconds":N}}
//	-> 200 {"value":"xai-realtime-client-secret-...","expires_at":N}
//
// with "Authorization: Bearer <key>". The middleware serves it on
// /{provider}/v1/realtime/client_secrets and, with the model written
// "{provider}/{model}", on /v1/realtime/client_secrets: policy, the
// expiry clamp (expires_after.seconds), key choice and attribution work as
// for OpenAI.
//
// xAI's endpoint takes expires_after.seconds and nothing else: no
// session, no expires_after.anchor. Mint forwards only expires_after.seconds,
// and refuses with 400 unsupported_session_setting, naming them, the
// session settings a client asks for (instructions, voice, tools, ...):
// such a secret cannot carry them, and a client that asked for them would
// otherwise get a secret without them. Send them with session.update once
// the WebSocket is open. session.type "realtime" and session.model are
// read by the middleware (provider, policy, key choice, attribution) and
// dropped: an xAI secret is not bound to a model, which the client names
// when it connects (wss://api.x.ai/v1/realtime?model=...), so a virtual
// key's models are checked against what the client declares at mint,
// not enforced on the connection.
//
// xAI serves no beta session endpoints, no translation secrets and no
// brokered WebRTC sessions: those are 400 unsupported_endpoint, and the
// Provider implements neither contract.SessionBroker nor SessionWatcher.
//
// xAI's error bodies ({"code":"...","error":"..."}) are answered in the
// OpenAI shape with xAI's status. The Provider declares the format of xAI's
// secrets (contract.SecretFormatter): "xai-realtime-client-secret-..."
// presented as "Authorization: Bearer" or in the WebSocket subprotocol
// "xai-client-secret.", so that a redemption through the middleware (the
// sidecar's WebSocket path) is attributed.
//
//	p, err := xai.New(xai.Config{})
//	if err != nil {
//		return err
//	}
//	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{Name: "xai", Provider: p, Keys: keys})
package xai
