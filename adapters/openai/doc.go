// Package openai is the contract.Provider for the OpenAI API and for
// OpenAI-compatible vendors that serve the same Realtime mint endpoints below
// another base URL.
//
// A Provider posts the middleware's normalized body to
// {BaseURL}/v1/realtime/<endpoint> with "Authorization: Bearer <key>" and
// hands back the upstream reply, whatever its status, with a gzip body
// decoded. It never follows a redirect, so the key only ever goes to BaseURL;
// no error it returns contains the key, and a reply body that echoes the key
// (a vendor's 401 may) has it replaced.
//
// OpenAI has switched the beta Realtime API off: by default (BetaDefault)
// the middleware translates a mint at a beta endpoint onto
// /v1/realtime/client_secrets before it reaches the Provider. Configure a
// vendor that still serves the beta endpoints with Beta "forward".
//
// A Provider is also a contract.SessionBroker: for the brokered
// sessions of the middleware it posts the body the middleware built (a
// multipart/form-data WebRTC offer, a GPT-Live JSON body, or nothing for a
// hang-up) byte for byte, with its Content-Type and "Accept: */*", to
//
//	POST {BaseURL}/v1/realtime/calls
//	POST {BaseURL}/v1/live/sessions
//	POST {BaseURL}/v1/realtime/calls/{call_id}/hangup
//	POST {BaseURL}/v1/live/sessions/{session_id}/hangup
//
// and hands back the reply, which is not JSON for a call (201,
// application/sdp, with the call id in Location), with the same guarantees.
//
//	p, err := openai.New(openai.Config{})
//	if err != nil {
//		return err
//	}
//	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{Name: "openai", Provider: p, Keys: keys})
package openai
