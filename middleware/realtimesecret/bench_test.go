package realtimesecret_test

import (
	"context"
	"encoding/binary"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// discardWriter is a ResponseWriter that allocates nothing, so benchmarks
// measure the middleware, not httptest.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

func okHandler(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// BenchmarkPassthrough compares routers with and without the middleware on a
// non-mint request, with no Authorization and with a non-ek_ one.
func BenchmarkPassthrough(b *testing.B) {
	cfg := baseConfig(newFakeProvider())
	routers := map[string]func(with bool) http.Handler{
		"chi": func(with bool) http.Handler {
			r := chi.NewRouter()
			if with {
				r.Use(realtimesecret.Middleware(cfg))
			}
			r.Post("/v1/chat/completions", okHandler)
			return r
		},
		"servemux": func(with bool) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/chat/completions", okHandler)
			if with {
				return realtimesecret.Middleware(cfg)(mux)
			}
			return mux
		},
	}
	for _, router := range []string{"chi", "servemux"} {
		for _, with := range []bool{false, true} {
			for _, auth := range []string{"", "Bearer sk-proj-0123456789abcdef"} {
				name := router + "/bare"
				if with {
					name = router + "/middleware"
				}
				if auth == "" {
					name += "/no-auth"
				} else {
					name += "/sk-auth"
				}
				h := routers[router](with)
				b.Run(name, func(b *testing.B) {
					r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
					if auth != "" {
						r.Header.Set("Authorization", auth)
					}
					w := &discardWriter{h: http.Header{}}
					b.ReportAllocs()
					for b.Loop() {
						h.ServeHTTP(w, r)
					}
				})
			}
		}
	}
}

// BenchmarkLookup looks up a stored token in the memory store.
func BenchmarkLookup(b *testing.B) {
	h, err := realtimesecret.New(baseConfig(newStaticProvider()))
	if err != nil {
		b.Fatal(err)
	}
	srv := h.Wrap(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(gaBody))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	token := tokenOf(w.Body.Bytes())
	if token == "" {
		b.Fatal("no token minted")
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := h.Lookup(ctx, token); !ok {
			b.Fatal("not found")
		}
	}
}

// The benchmarks below back the performance budget in the README
// (make bench). They complement those above: the same request paths, with
// upstream replies the size OpenAI sends, in parallel, and with the
// middleware's overhead measured against the bare router in one run.

// BenchmarkPassthroughOverhead measures what the middleware adds to a
// request it passes through, as the difference between the same router with
// and without it. The two are run in alternating batches inside one
// benchmark, so that a shared machine whose speed drifts slows both alike;
// the difference is reported as added-ns/req. Allocations per op are those
// of both routers together; added-allocs/req is the middleware's own.
func BenchmarkPassthroughOverhead(b *testing.B) {
	cfg := baseConfig(newFakeProvider())
	routers := []struct {
		name  string
		build func(with bool) http.Handler
	}{
		{"chi", func(with bool) http.Handler {
			r := chi.NewRouter()
			if with {
				r.Use(realtimesecret.Middleware(cfg))
			}
			r.Post("/v1/chat/completions", okHandler)
			return r
		}},
		{"servemux", func(with bool) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/chat/completions", okHandler)
			if with {
				return realtimesecret.Middleware(cfg)(mux)
			}
			return mux
		}},
	}
	headers := []struct {
		name   string
		header http.Header
	}{
		{"no-auth", http.Header{}},
		{"sk-auth", http.Header{"Authorization": {"Bearer sk-proj-0123456789abcdef"}}},
		// What a browser or SDK sends: enough headers that a lookup hashes.
		{"sdk-headers", http.Header{
			"Authorization":    {"Bearer sk-proj-0123456789abcdef"},
			"Content-Type":     {"application/json"},
			"Accept":           {"application/json"},
			"Accept-Encoding":  {"gzip, deflate"},
			"User-Agent":       {"OpenAI/Python 1.99.0"},
			"X-Stainless-Os":   {"Linux"},
			"X-Stainless-Arch": {"x64"},
			"Content-Length":   {"512"},
			"Connection":       {"keep-alive"},
			"Openai-Beta":      {"realtime=v1"},
		}},
	}
	for _, rt := range routers {
		for _, hd := range headers {
			bare, with := rt.build(false), rt.build(true)
			b.Run(rt.name+"/"+hd.name, func(b *testing.B) {
				r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
				r.Header = hd.header
				w := &discardWriter{h: http.Header{}}
				// Allocations are counted apart, before the timed loop,
				// since the loop's allocs/op are those of both routers.
				addedAllocs := testing.AllocsPerRun(100, func() { with.ServeHTTP(w, r) }) -
					testing.AllocsPerRun(100, func() { bare.ServeHTTP(w, r) })
				var tBare, tWith time.Duration
				const batch = 128
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					t0 := time.Now()
					for range batch {
						bare.ServeHTTP(w, r)
					}
					t1 := time.Now()
					for range batch {
						with.ServeHTTP(w, r)
					}
					tWith += time.Since(t1)
					tBare += t1.Sub(t0)
					n += batch
				}
				b.ReportMetric(float64(tBare.Nanoseconds())/float64(n), "bare-ns/req")
				b.ReportMetric(float64(tWith.Nanoseconds())/float64(n), "middleware-ns/req")
				b.ReportMetric(float64((tWith-tBare).Nanoseconds())/float64(n), "added-ns/req")
				b.ReportMetric(addedAllocs, "added-allocs/req")
			})
		}
	}
}

// Upstream replies shaped and sized like OpenAI's (shared/fixtures), split
// around the token and expiry the fixture provider fills in.
var fixtureReplies = map[realtimesecret.Endpoint][3]string{
	contract.EndpointClientSecret: {`{"value":"`, `","expires_at":`, `,"session":{"type":"realtime",` +
		`"object":"realtime.session","id":"sess_C9CiUVUzUzYIssh3ELY1d","model":"gpt-realtime",` +
		`"output_modalities":["audio"],"instructions":"You are a friendly assistant.","tools":[],` +
		`"tool_choice":"auto","max_output_tokens":"inf","tracing":null,"truncation":"auto","prompt":null,` +
		`"expires_at":0,"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,` +
		`"noise_reduction":null,"turn_detection":{"type":"server_vad"}},"output":{"format":{"type":"audio/pcm",` +
		`"rate":24000},"voice":"marin","speed":1.0}},"include":null}}`},
	contract.EndpointTranslation: {`{"value":"`, `","expires_at":`, `,"session":{"type":"translation",` +
		`"object":"realtime.session","id":"sess_C9CiUVUzUzYIssh3ELY1d","model":"gpt-realtime-translate",` +
		`"audio":{"input":{"transcription":{"model":"gpt-realtime-whisper"},"noise_reduction":null},` +
		`"output":{"language":"es"}}}}`},
	contract.EndpointSession: {`{"id":"sess_001","object":"realtime.session","model":"gpt-realtime-2025-08-25",` +
		`"modalities":["audio","text"],"instructions":"You are a friendly assistant.","voice":"alloy",` +
		`"input_audio_format":"pcm16","output_audio_format":"pcm16","input_audio_transcription":{"model":"whisper-1"},` +
		`"turn_detection":null,"tools":[],"tool_choice":"none","temperature":0.7,"max_response_output_tokens":200,` +
		`"speed":1.1,"tracing":"auto","client_secret":{"value":"`, `","expires_at":`, `}}`},
	contract.EndpointTranscriptionSession: {`{"id":"sess_BBwZc7cFV3XizEyKGDCGL","object":"realtime.transcription_session",` +
		`"modalities":["audio","text"],"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,` +
		`"silence_duration_ms":200},"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe",` +
		`"language":"en","prompt":""},"client_secret":{"value":"`, `","expires_at":`, `}}`},
}

// Client bodies like shared/fixtures, one per endpoint.
var fixtureRequests = map[realtimesecret.Endpoint]string{
	contract.EndpointClientSecret: `{"expires_after":{"anchor":"created_at","seconds":600},"session":{"type":"realtime",` +
		`"model":"openai/gpt-realtime","instructions":"You are a friendly assistant.","audio":{"output":{"voice":"marin"}}}}`,
	contract.EndpointTranslation: `{"expires_after":{"anchor":"created_at","seconds":600},"session":{` +
		`"model":"openai/gpt-realtime-translate","audio":{"input":{"transcription":{"model":"gpt-realtime-whisper"},` +
		`"noise_reduction":null},"output":{"language":"es"}}}}`,
	contract.EndpointSession: `{"model":"openai/gpt-realtime","modalities":["audio","text"],` +
		`"instructions":"You are a friendly assistant.","voice":"alloy","client_secret":{"expires_after":` +
		`{"anchor":"created_at","seconds":120}}}`,
	contract.EndpointTranscriptionSession: `{"input_audio_format":"pcm16","input_audio_transcription":` +
		`{"model":"openai/gpt-4o-transcribe","language":"en"},"turn_detection":{"type":"server_vad","threshold":0.5,` +
		`"prefix_padding_ms":300,"silence_duration_ms":200},"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}}`,
}

// fixtureProvider answers every mint with a fixture-sized reply holding a
// fresh 35-byte token, in a new slice each time as an adapter reading a
// response would.
type fixtureProvider struct {
	n atomic.Uint64
	// clientSecret, when set, is the GA reply instead of fixtureReplies':
	// a transcription session's.
	clientSecret *[3]string
}

func (p *fixtureProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	parts := fixtureReplies[req.Endpoint]
	if p.clientSecret != nil && req.Endpoint == contract.EndpointClientSecret {
		parts = *p.clientSecret
	}
	body := make([]byte, 0, len(parts[0])+len(parts[1])+len(parts[2])+64)
	body = append(body, parts[0]...)
	body = append(body, "ek_"...)
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:], p.n.Add(1))
	body = appendHex(body, id[:])
	body = append(body, parts[1]...)
	body = strconv.AppendInt(body, time.Now().Add(10*time.Minute).Unix(), 10)
	body = append(body, parts[2]...)
	return &contract.Reply{StatusCode: http.StatusOK, Header: fixtureHeader, Body: body}, nil
}

// fixtureHeader is what OpenAI sends besides the body that the middleware
// may copy; it is never modified.
var fixtureHeader = http.Header{
	"Content-Type":         {"application/json"},
	"X-Request-Id":         {"req_0123456789abcdef0123456789abcdef"},
	"Openai-Processing-Ms": {"120"},
	"Set-Cookie":           {"__cf_bm=abc; path=/; HttpOnly"},
}

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return dst
}

// BenchmarkMintFixture mints each endpoint kind with fixture-sized bodies
// through an in-process provider, virtual key checked and record stored:
// the whole middleware cost of a mint without the network.
func BenchmarkMintFixture(b *testing.B) {
	h := realtimesecret.Middleware(baseConfig(&fixtureProvider{}))(http.NotFoundHandler())
	for _, ep := range contract.Endpoints() {
		body := fixtureRequests[ep]
		b.Run(ep.String(), func(b *testing.B) {
			mint := mintRepeater(h, ep, body)
			b.ReportAllocs()
			for b.Loop() {
				mint()
			}
		})
	}
}

// The GA transcription session of the beta one in fixtureRequests: its
// request, and OpenAI's reply split as fixtureReplies are.
var (
	gaTranscriptionRequest = `{"expires_after":{"anchor":"created_at","seconds":300},"session":{"type":"transcription",` +
		`"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"openai/gpt-4o-transcribe",` +
		`"language":"en"},"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200}}}}}`
	gaTranscriptionReply = [3]string{`{"value":"`, `","expires_at":`, `,"session":{"type":"transcription",` +
		`"object":"realtime.transcription_session","id":"sess_BBwZc7cFV3XizEyKGDCGL","audio":{"input":{"format":` +
		`{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":"en","prompt":""},` +
		`"noise_reduction":null,"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,` +
		`"silence_duration_ms":200}}},"include":null,"expires_at":0}}`}
)

// BenchmarkMintBeta compares a beta mint translated onto GA (the default
// for OpenAI and Azure: the beta body translated, the GA reply translated
// back) with the GA mint of the same session and with the beta mint
// forwarded as it is, fixture-sized, through an in-process provider.
func BenchmarkMintBeta(b *testing.B) {
	for _, bc := range []struct {
		name, beta, body string
		ep               realtimesecret.Endpoint
		transcription    bool
	}{
		{name: "session/ga", ep: contract.EndpointClientSecret, body: fixtureRequests[contract.EndpointClientSecret]},
		{name: "session/beta-translated", ep: contract.EndpointSession, beta: contract.BetaTranslate, body: fixtureRequests[contract.EndpointSession]},
		{name: "session/beta-forwarded", ep: contract.EndpointSession, beta: contract.BetaForward, body: fixtureRequests[contract.EndpointSession]},
		{name: "transcription/ga", ep: contract.EndpointClientSecret, body: gaTranscriptionRequest, transcription: true},
		{name: "transcription/beta-translated", ep: contract.EndpointTranscriptionSession, beta: contract.BetaTranslate,
			body: fixtureRequests[contract.EndpointTranscriptionSession], transcription: true},
		{name: "transcription/beta-forwarded", ep: contract.EndpointTranscriptionSession, beta: contract.BetaForward,
			body: fixtureRequests[contract.EndpointTranscriptionSession], transcription: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := &fixtureProvider{}
			if bc.transcription {
				p.clientSecret = &gaTranscriptionReply
			}
			cfg := baseConfig(p)
			cfg.Providers[0].Beta = bc.beta
			h := realtimesecret.Middleware(cfg)(http.NotFoundHandler())
			mint := mintRepeater(h, bc.ep, bc.body)
			mint()
			if w := mintStatus(h, bc.ep, bc.body); w != http.StatusOK {
				b.Fatalf("status %d", w)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				mint()
			}
		})
	}
}

// mintStatus mints body at ep of h once and returns the status.
func mintStatus(h http.Handler, ep realtimesecret.Endpoint, body string) int {
	r := httptest.NewRequest(http.MethodPost, ep.Path(), strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// mintRepeater returns a function that sends body to h as one more mint
// at ep, with the web virtual key. The request, its reader and the writer
// are reused, so that a benchmark counts the middleware's allocations only.
func mintRepeater(h http.Handler, ep realtimesecret.Endpoint, body string) func() {
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodPost, ep.Path(), nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	rd := strings.NewReader(body)
	return func() {
		rd.Reset(body)
		r.Body = readCloser{rd}
		r.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkMintParallel mints GA client secrets from every CPU at once, to
// show contention in the store, the rate limiter and the allocator.
func BenchmarkMintParallel(b *testing.B) {
	cfg := baseConfig(&fixtureProvider{})
	cfg.VirtualKeys[0].RateLimit = realtimesecret.Rate{Requests: 1 << 30, Per: time.Second}
	h := realtimesecret.Middleware(cfg)(http.NotFoundHandler())
	body := fixtureRequests[contract.EndpointClientSecret]
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mint := mintRepeater(h, contract.EndpointClientSecret, body)
		for pb.Next() {
			mint()
		}
	})
}

// BenchmarkLookupParallel looks tokens up from every CPU at once in a store
// holding 100,000 records.
func BenchmarkLookupParallel(b *testing.B) {
	const n = 100_000
	store := memory.NewStore()
	h, err := realtimesecret.New(func() realtimesecret.Config {
		cfg := baseConfig(newStaticProvider())
		cfg.Store = store
		return cfg
	}())
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, n)
	rec := benchRecord()
	ctx := context.Background()
	for i := range tokens {
		tokens[i] = "ek_" + strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 16)
		if err := store.Put(ctx, contract.HashToken(tokens[i]), rec); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer() // RunParallel benchmarks are called again for each b.N
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919)
		for pb.Next() {
			i++
			if _, ok, _ := h.Lookup(ctx, tokens[i%n]); !ok {
				b.Error("not found")
				return
			}
		}
	})
}

func benchRecord() realtimesecret.Record {
	return realtimesecret.Record{
		KeyID:        "primary",
		VirtualKeyID: "web",
		Provider:     "openai",
		Model:        "gpt-realtime",
		Endpoint:     contract.EndpointClientSecret,
		ExpiresAt:    time.Unix(time.Now().Add(time.Hour).Unix(), 0),
	}
}

// chromeOffer is the shape of the offer a browser makes for a voice call:
// one audio transceiver and the data channel, with host candidates.
var chromeOffer = strings.Join([]string{
	"v=0",
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
	"s=-",
	"t=0 0",
	"a=group:BUNDLE 0 1",
	"a=extmap-allow-mixed",
	"a=msid-semantic: WMS",
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
	"c=IN IP4 0.0.0.0",
	"a=rtcp:9 IN IP4 0.0.0.0",
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.20 50123 typ host generation 0 network-id 1",
	"a=candidate:3163936123 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 network-id 1",
	"a=ice-ufrag:Zx3H",
	"a=ice-pwd:dCQZ3dG8w1yR9QyN3sGi1iSL",
	"a=ice-options:trickle",
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
	"a=setup:actpass",
	"a=mid:0",
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
	"a=sendrecv",
	"a=msid:- 6a2b1f0e-6d63-4f0e-9f6e-3c1d5b7a9e21",
	"a=rtcp-mux",
	"a=rtcp-rsize",
	"a=rtpmap:111 opus/48000/2",
	"a=rtcp-fb:111 transport-cc",
	"a=fmtp:111 minptime=10;useinbandfec=1",
	"a=rtpmap:63 red/48000/2",
	"a=fmtp:63 111/111",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:13 CN/8000",
	"a=rtpmap:110 telephone-event/48000",
	"a=rtpmap:126 telephone-event/8000",
	"a=ssrc:2837546354 cname:Dd0v7dGm0fQ9vH2x",
	"a=ssrc:2837546354 msid:- 6a2b1f0e-6d63-4f0e-9f6e-3c1d5b7a9e21",
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	"c=IN IP4 0.0.0.0",
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.20 50124 typ host generation 0 network-id 1",
	"a=ice-ufrag:Zx3H",
	"a=ice-pwd:dCQZ3dG8w1yR9QyN3sGi1iSL",
	"a=ice-options:trickle",
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
	"a=setup:actpass",
	"a=mid:1",
	"a=sctp-port:5000",
	"a=max-message-size:262144",
	"",
}, "\r\n")

// quotedChromeOffer is chromeOffer as a JSON string, built once so that
// the fake provider costs the benchmark little.
var quotedChromeOffer = strconv.Quote(chromeOffer)

const benchCallSession = `{"type":"realtime","model":"openai/gpt-realtime","instructions":"You are a friendly assistant.",` +
	`"audio":{"output":{"voice":"marin"}}}`

// sessionFixtureProvider answers brokered sessions as OpenAI does, with an
// answer the size of a real one, in a new slice each time as an adapter
// reading a response would.
type sessionFixtureProvider struct {
	fixtureProvider
	n atomic.Uint64
}

var (
	callReplyHeader = http.Header{"Content-Type": {"application/sdp"}, "X-Request-Id": {"req_0123456789abcdef"}}
	liveReplyHeader = http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_0123456789abcdef"}}
)

func (p *sessionFixtureProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	id := strconv.FormatUint(p.n.Add(1), 10)
	if req.Endpoint == contract.EndpointLiveSession {
		body := append([]byte(`{"session":{"id":"sess_`+id+`"},"transport":{"type":"webrtc","sdp":`), quotedChromeOffer...)
		return &contract.Reply{StatusCode: http.StatusCreated, Header: liveReplyHeader, Body: append(body, "}}"...)}, nil
	}
	h := http.Header{"Content-Type": callReplyHeader["Content-Type"], "X-Request-Id": callReplyHeader["X-Request-Id"],
		"Location": {"/v1/realtime/calls/rtc_" + id}}
	return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(chromeOffer)}, nil
}

// BenchmarkCall brokers a WebRTC call in process: a browser-sized offer
// and session in multipart, parsed, policy-checked, rebuilt as multipart
// for the provider, answered and recorded.
func BenchmarkCall(b *testing.B) {
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("sdp", chromeOffer)
	_ = mw.WriteField("session", benchCallSession)
	_ = mw.Close()
	benchSession(b, contract.EndpointCall, mw.FormDataContentType(), body.String())
}

// BenchmarkLive creates a GPT-Live session in process.
func BenchmarkLive(b *testing.B) {
	body := `{"session":{"model":"openai/gpt-live-1","instructions":"You are a friendly assistant."},` +
		`"transport":{"type":"webrtc","sdp":` + strconv.Quote(chromeOffer) + `}}`
	benchSession(b, contract.EndpointLiveSession, "application/json", body)
}

func benchSession(b *testing.B, ep realtimesecret.Endpoint, contentType, body string) {
	h := realtimesecret.Middleware(baseConfig(&sessionFixtureProvider{}))(http.NotFoundHandler())
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodPost, ep.Path(), nil)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	rd := strings.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = readCloser{rd}
		r.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.status != http.StatusCreated {
		b.Fatalf("status %d", w.status)
	}
}

// BenchmarkBudgetCheck is what a budgeted key's session creation adds
// before anything is held or sent upstream: the model's price and the
// key's spend this period (the in-process ledger's Spent), admitted. The
// Redis ledger's Spent is one round trip (adapters/redisstore's
// BenchmarkSpent).
func BenchmarkBudgetCheck(b *testing.B) {
	ctx := context.Background()
	ledger := memory.NewSessionRegistry()
	_, err := ledger.AddSpend(ctx, contract.SessionSpend{Principal: "web", ID: "rtc_1", USD: 1.5, Per: 24 * time.Hour,
		Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	check := realtimesecret.NewBudgetCheck(ledger)
	p := &realtimesecret.Principal{ID: "web", Budget: contract.Budget{USD: 5, Per: 24 * time.Hour}}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if e := check(ctx, p, "gpt-realtime-2025-08-28"); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if e := check(ctx, p, "gpt-realtime-2025-08-28"); e != nil {
					b.Error(e)
					return
				}
			}
		})
	})
}
