// Package fakeupstream is an in-process stand-in for the OpenAI Realtime
// client-secret endpoints, used by tests, benchmarks and the sidecar's demo
// mode. It is not a mock of any one test: it answers like the provider would,
// so code under test can be exercised end to end on loopback.
//
// A *Server is an http.Handler; wrap it in httptest.NewServer in tests:
//
//	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-test"}})
//	srv := httptest.NewServer(up)
//	defer srv.Close()
//	// point the code under test at srv.URL, then inspect up.Last(), up.Requests() ...
//
// Routes of the OpenAI flavor (all POST, query string ignored):
//
//	/v1/realtime/client_secrets               GA: {"value":"ek_…","expires_at":N,"session":{…}}
//	/v1/realtime/translations/client_secrets  GA translation, same shape
//	/v1/realtime/sessions                     beta: {…session…,"client_secret":{"value":"ek_…","expires_at":N}}
//	/v1/realtime/transcription_sessions       beta transcription, same shape
//	/healthz (GET)                            200 "ok"
//
// Each mint answers a fresh random "ek_" + 32 hex characters value and an
// expires_at of now plus the requested lifetime (expires_after.seconds,
// client_secret.expires_after.seconds or client_secret.expires_at.seconds,
// 10 to 7200 like OpenAI) or Options.TTL. The session in the answer echoes
// the request's session fields with model, type, id and object set, and
// OpenAI's defaults for the fields the request left out.
//
// Requests are checked the way OpenAI checks them, so a fake that accepts a
// body means the real API most likely would too: a GA session needs a type,
// a translation session needs a model, a bad lifetime or a model of the wrong
// type is refused with 400, a missing or unknown key with 401. Every error is
// an OpenAI-shaped {"error":{"message","type","param","code"}} body.
//
// Every request received (refused ones included) is recorded in a bounded
// log; see Server.Requests. Options.Fault lets a test answer any request
// itself (slow, failing, malformed upstreams).
//
// The package is internal: it is test and demo tooling, not API.
package fakeupstream
