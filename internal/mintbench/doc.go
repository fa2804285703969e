// Package mintbench holds the A/B of a mint's cost across providers: an
// xAI client secret and a Gemini Live auth token against an OpenAI GA
// client secret, each minted through middleware built by
// realtimesecret.New with the real adapter (adapters/openai, adapters/xai,
// adapters/gemini) and a virtual key with models and a max_ttl, so that
// the policy, the expiry clamp, the key choice and the record's storage
// all run. Each request is the body and headers the official SDKs send:
//
//	openai  POST /v1/realtime/client_secrets         {"expires_after":{...},"session":{"type":"realtime","model":...}}
//	xai     POST /xai/v1/realtime/client_secrets     {"expires_after":{"seconds":N}}
//	gemini  POST /gemini/v1alpha/auth_tokens         @google/genai's authTokens.create: uses, expireTime,
//	                                                 newSessionExpireTime, bidiGenerateContentSetup.model
//
// BenchmarkProviderMint gives each adapter's HTTP client an in-process
// http.RoundTripper: before the timed loop it serves the adapter's request
// with the real fake (internal/fakeupstream, internal/fakexai,
// internal/fakegemini), which checks the request as the provider does,
// and keeps that answer; in the loop it answers every request with the
// same reply holding a fresh secret. No socket is opened, so the figure is
// the middleware's and the adapter's cost, not the loopback's (the
// stand-in transport's own response, header and body are 7 allocations of
// each mint, the same for the three). BenchmarkProviderMintAlternating runs
// the three in alternating batches in one loop and reports each one's
// ns/mint and the ratios xai/openai and gemini/openai, which a shared
// machine's drift affects less than rows run one after another.
// BenchmarkProviderMintLoopback is the reference with the sockets: the
// adapters' own transports against the real fakes on httptest servers in
// the same process.
//
// Run them on a machine as quiet as can be had, several times:
//
//	go test -run x -bench BenchmarkProviderMint -benchmem -count 6 ./internal/mintbench/
//
// and read the rows with benchstat (golang.org/x/perf/cmd/benchstat). On a
// busy machine, count instructions instead, which do not depend on it:
//
//	go test -c -o /tmp/mintbench.test ./internal/mintbench
//	GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOGC=off valgrind --tool=callgrind \
//		--toggle-collect='*mintbench_test.repeater.func1' --callgrind-out-file=/dev/null \
//		/tmp/mintbench.test -test.run x -test.bench '^BenchmarkProviderMint$/^xai$' -test.benchtime 2000x
//
// (the difference of a 4000x and a 2000x run over 2000 is one mint;
// cpu.rdtscp=off because valgrind 3.19 does not know RDTSCP).
// docs/performance.md has the figures.
//
// The package has no code besides its benchmarks.
package mintbench
