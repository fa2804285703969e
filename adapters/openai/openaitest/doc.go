// Package openaitest provides a fake OpenAI Realtime upstream for tests of
// code that uses realtimesecret, the way net/http/httptest provides test
// servers for net/http.
//
// NewServer starts it on a loopback port. Point adapters/openai at its URL
// and the middleware mints against it: it answers the Realtime mint
// endpoints the way OpenAI does (GA client secrets and translations, with a
// fresh "ek_" value and an expires_at; the beta sessions and transcription
// sessions with OpenAI's 400 beta_api_shape_disabled, unless
// Options.ServeBeta), checks requests the way OpenAI checks them (a
// missing or unknown key is 401, a bad lifetime or an unknown model 400,
// each with an OpenAI-shaped error body), and records every request it
// receives.
//
//	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-test"}})
//	defer fake.Close()
//	provider, err := openai.New(openai.Config{BaseURL: fake.URL})
//	// ... realtimesecret.Config{Providers: ... Keys: {{ID: "k", Value: "sk-test"}} ...}
//	// ... mint through the middleware, then:
//	last, _ := fake.Last() // what reached the upstream
//
// The values it mints work nowhere else. It is the fake the project's own
// tests, benchmarks and the sidecar's demo mode use.
package openaitest
