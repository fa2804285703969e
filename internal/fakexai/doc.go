// Package fakexai is an in-process stand-in for xAI's Voice Agent API
// client-secret endpoint, for the tests of adapters/xai and the sidecar.
// It answers as xAI's API reference says xAI does, so that code under
// test can be exercised end to end on loopback:
//
//	POST /v1/realtime/client_secrets    200 {"value":"xai-realtime-client-secret-…","expires_at":N}
//
// The request needs "Authorization: Bearer <key>" (401 without one, 400
// "Incorrect API key provided" for a key not in Options.Keys, as xAI
// answers) and a JSON object body of at most {"expires_after":{"seconds":N}}:
// xAI documents that the endpoint takes neither "session" nor
// "expires_after.anchor", so the fake refuses them, and any other member,
// with 400. That is the strict reading: a fake that accepts a body means
// xAI most likely would too. seconds is a whole number from 1 to
// MaxTTLSeconds; without it the secret lives DefaultTTL.
//
// Errors have xAI's shape, {"code":"...","error":"..."}, which is not
// OpenAI's. Every request is recorded (Requests); Options.Fault answers
// any request itself, for slow, failing or malformed upstreams.
//
// The package is internal: it is test tooling, not API.
package fakexai
