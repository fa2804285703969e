// Package upstream is the HTTP plumbing the provider adapters share: a client
// that never follows redirects, one mint exchange bounded by a timeout, a
// capped and gzip-decoding read of the reply, the filtered request header,
// base URL checks, and errors that wrap the realtimesecret sentinels and
// never carry the credential.
//
// An adapter builds one Poster at New and, per Mint:
//
//	x := p.poster.Begin(ctx, req.Endpoint)
//	defer x.Close()
//	h := upstream.Header(req.Header)
//	h["Authorization"] = []string{"Bearer " + key}
//	return x.Post(url, h, req.Body, key)
//
// A brokered session (SessionBroker) is sent the same way with
// SessionHeader(req.Header, req.ContentType): its body is multipart, JSON or
// empty, and its reply application/sdp, JSON or empty; Post assumes neither.
//
// The package is internal: its API follows what the adapters need.
package upstream
