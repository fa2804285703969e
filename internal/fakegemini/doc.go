// Package fakegemini is an in-process stand-in for the Gemini API's
// ephemeral token endpoint, for the tests of adapters/gemini and the
// sidecar. It answers as Google's API does, as far as its reference and
// SDKs (@google/genai's authTokens.create, google-genai's
// auth_tokens.create) show it:
//
//	POST /v1alpha/auth_tokens    200 {"name":"auth_tokens/…"}
//
// The key is read from "x-goog-api-key" (or ?key=): without one the
// answer is 403 PERMISSION_DENIED, with one not in Options.Keys 400
// INVALID_ARGUMENT "API key not valid". The body is Google's AuthToken:
// uses, expireTime, newSessionExpireTime, bidiGenerateContentSetup and
// fieldMask, each in lowerCamelCase or snake_case as Google's JSON parser
// takes them. It is checked as Google checks it: an unknown field, a
// field of the wrong type, a negative uses, a time that is not RFC 3339,
// in the past or 20 hours or more away, or a model not written
// "models/..." is 400 INVALID_ARGUMENT; with Options.Models, another model
// is 400 too. Without expireTime a token lives DefaultExpire; "uses": 0
// means no limit, as Google documents it.
//
// Errors have Google's shape, {"error":{"code","message","status"}}.
// Every request and every token minted (with what it allows) is recorded;
// Options.Fault answers any request itself, for slow, failing or
// malformed upstreams.
//
// The package is internal: it is test tooling, not API.
package fakegemini
