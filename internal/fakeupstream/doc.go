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
//	/v1/realtime/sessions                     beta: 400 beta_api_shape_disabled, as OpenAI answers now;
//	                                          with Options.ServeBeta {…session…,"client_secret":{"value":"ek_…","expires_at":N}}
//	/v1/realtime/transcription_sessions       beta transcription, the same
//	/v1/realtime/calls                        201 application/sdp answer, Location: /v1/realtime/calls/rtc_…
//	/v1/live/sessions                         201 {"session":{"id":"sess_…","model"},"transport":{"type":"webrtc","sdp"}}
//	/v1/realtime/calls/{id}/hangup            200, empty body; 404 for an unknown or ended id, or another key's
//	/v1/live/sessions/{id}/hangup             same
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
// The session routes broker WebRTC sessions as OpenAI does. A call is
// multipart/form-data with a required "sdp" part and an optional "session"
// part (a GA realtime session; its model is checked against
// Options.Models); unknown or repeated parts are refused. A raw
// application/sdp offer is accepted only with an "ek_" value this server
// minted, and refused with 400 with an API key. A Live body is checked
// strictly: only "session" (with a string "model", checked against
// Options.LiveModels) and "transport" ({"type":"webrtc","sdp"}), nothing
// else. Either answers an SDP answer to the offer that a browser accepts
// (same m-sections, mids and BUNDLE, fresh ICE credentials and
// fingerprint) but that never connects. Sessions and their hang-ups are
// counted (SessionStats, Session); Options.CreateDelay and AfterCreate hold
// an answer after the session was created, for retry tests.
//
// Sessions have sidebands (GET, WebSocket), in OpenAI's form and in
// Azure's ({endpoint}/openai/v1/..., the key in "api-key" or as a bearer;
// the session routes are served in that form too):
//
//	/v1/realtime?call_id={id}                 a call's sideband
//	/v1/live/sessions/{id}/attach             a Live session's sideband
//
// An attach to an unknown or ended session, another kind's or another
// key's is 404. Each sideband emits Options.Sideband, a SidebandScript:
// response.done events with usage (calls), session.usage.updated running
// totals (Live), and by default usage every second, so the demo shows some.
// A hang-up closes the session's sidebands normally, a Live one after
// session.closed; a session.close sent on a Live sideband ends the session
// the same way. SidebandScript.DropAfter and Server.DropSidebands drop a
// sideband without a close frame; SidebandStats counts attaches, events,
// drops and session.close commands. Server.Close closes every sideband:
// an httptest.Server does not track hijacked connections.
//
// Every request received (refused ones included) is recorded in a bounded
// log; see Server.Requests, and Server.LastRequest for the latest per route. Options.Fault lets a test answer any request
// itself (slow, failing, malformed upstreams).
//
// The package is internal: it is test and demo tooling, not API.
package fakeupstream
