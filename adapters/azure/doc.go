// Package azure is the contract.Provider for Azure OpenAI (Microsoft
// Foundry) resources.
//
// It mints GA client secrets at
//
//	POST {Endpoint}/openai/v1/realtime/client_secrets
//	POST {Endpoint}/openai/v1/realtime/translations/client_secrets
//
// and, when Config.APIVersion is set, beta sessions at the legacy preview
//
//	POST {Endpoint}/openai/realtimeapi/sessions?api-version={APIVersion}
//
// authenticated with the "api-key" header, or with "Authorization: Bearer"
// and a Microsoft Entra ID token (Config.TokenSource, or Config.Auth for a
// token obtained elsewhere). The preview API is deprecated: by default
// (BetaDefault) the middleware translates beta mints onto the GA endpoint,
// and only a provider configured with Beta "forward" sends them here as
// they are. Then beta transcription sessions, and beta sessions without an
// APIVersion, are answered 400 with a message naming the GA endpoint to use
// instead; nothing is sent to Azure.
//
// It is also a contract.SessionBroker: it brokers WebRTC calls and
// GPT-Live sessions, and their hang-ups, on the v1 API, with the same
// authentication and never an api-version:
//
//	POST {Endpoint}/openai/v1/realtime/calls
//	POST {Endpoint}/openai/v1/live/sessions
//	POST {Endpoint}/openai/v1/realtime/calls/{call_id}/hangup
//	POST {Endpoint}/openai/v1/live/sessions/{session_id}/hangup
//
// The body the middleware built is sent byte for byte with its
// Content-Type; a 2xx reply (application/sdp and a Location header for a
// call) is passed back as it came, an error as described below.
//
// On Azure, session.model (model on the preview sessions endpoint) is the
// name of a deployment, not of a model. The middleware resolves
// contract.Key.Aliases before calling the Provider, so map the model
// names clients ask for to deployment names there:
//
//	Aliases: map[string]string{"gpt-realtime": "my-realtime-deployment"}
//
// A reply is passed back as it came (the key or token, should it echo
// one, replaced by "[REDACTED]"), except that a non-2xx body is
// rewritten into the OpenAI error shape
// {"error":{"message","type","param","code"}} (Azure answers
// {"error":{"code","message"}}, or API Management's
// {"statusCode","message"}), keeping the status, so that OpenAI SDKs surface
// it as their API error. A Provider never follows a redirect, and neither its
// errors nor a rewritten error body contain the key or token.
package azure
