package realtimesecret_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"runtime"
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

// The benchmarks in this file back the performance budget in the README
// (make bench). They complement bench_test.go: the same request paths, with
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
type fixtureProvider struct{ n atomic.Uint64 }

func (p *fixtureProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	parts := fixtureReplies[req.Endpoint]
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

// BenchmarkMemoryStoreFootprint reports the live heap one record costs in
// the MemoryStore, as bytes/record: the heap after a GC with 1,000,000
// records stored, less the heap before, over 1,000,000. The records are
// what 1,000 mints a second for 1,000 s would leave: two virtual keys, two
// models, expiries a whole second apart as OpenAI gives them. The hashes
// are made before the first measurement, so they are not counted. One
// iteration fills a new store; ns/op is the time to store the million.
func BenchmarkMemoryStoreFootprint(b *testing.B) {
	const n, perSecond = 1_000_000, 1_000
	hashes := make([]contract.TokenHash, n)
	for i := range hashes {
		var seed [8]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i))
		hashes[i] = sha256.Sum256(seed[:])
	}
	base := benchRecord()
	recs := make([]realtimesecret.Record, n)
	for i := range recs {
		recs[i] = base
		recs[i].VirtualKeyID = [...]string{"web", "mobile"}[i%2]
		recs[i].Model = [...]string{"gpt-realtime", "gpt-realtime-mini"}[i%3%2]
		recs[i].ExpiresAt = base.ExpiresAt.Add(time.Duration(i/perSecond) * time.Second)
	}
	reportFootprint(b, hashes, recs)
}

// reportFootprint fills a new MemoryStore with recs under hashes once per
// iteration and reports the live heap it grew by per record, as B/record.
// The difference is signed: memory freed by an earlier benchmark in the same
// process can make it negative, which must show as such, not wrap around.
func reportFootprint(b *testing.B, hashes []contract.TokenHash, recs []realtimesecret.Record) {
	ctx := context.Background()
	var perRecord float64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := memory.NewStore()
		for i := range hashes {
			if err := s.Put(ctx, hashes[i], recs[i]); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if s.Len() != len(hashes) {
			b.Fatalf("store holds %d records, want %d", s.Len(), len(hashes))
		}
		perRecord = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(len(hashes))
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perRecord, "B/record")
}
