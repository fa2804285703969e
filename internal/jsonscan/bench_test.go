package jsonscan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// Documents the size of what the middleware scans: a GA mint request and
// OpenAI's GA reply (shared/fixtures).
var (
	benchRequest = []byte(`{"expires_after":{"anchor":"created_at","seconds":600},"session":{"type":"realtime",` +
		`"model":"openai/gpt-realtime","instructions":"You are a friendly assistant.","audio":{"output":{"voice":"marin"}}}}`)
	benchReply = []byte(`{"value":"ek_68af296e8e408191a1120ab6383263c2","expires_at":1756310470,"session":{"type":"realtime",` +
		`"object":"realtime.session","id":"sess_C9CiUVUzUzYIssh3ELY1d","model":"gpt-realtime",` +
		`"output_modalities":["audio"],"instructions":"You are a friendly assistant.","tools":[],` +
		`"tool_choice":"auto","max_output_tokens":"inf","tracing":null,"truncation":"auto","prompt":null,` +
		`"expires_at":0,"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,` +
		`"noise_reduction":null,"turn_detection":{"type":"server_vad"}},"output":{"format":{"type":"audio/pcm",` +
		`"rate":24000},"voice":"marin","speed":1.0}},"include":null}}`)
)

// liveRequest is a GPT-Live request: a browser's SDP offer, kilobytes of
// ASCII with an escape every line, in a JSON string.
func liveRequest(b *testing.B) []byte {
	offer, err := os.ReadFile(filepath.Join("..", "..", "testdata", "offer.sdp"))
	if err != nil {
		b.Fatal(err)
	}
	sdp, err := json.Marshal(string(offer))
	if err != nil {
		b.Fatal(err)
	}
	return []byte(`{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":` + string(sdp) + `}}`)
}

// BenchmarkValid compares Valid with the encoding/json definition it
// replaces, on the same documents in one run.
func BenchmarkValid(b *testing.B) {
	for _, doc := range []struct {
		name string
		b    []byte
	}{{"request", benchRequest}, {"reply", benchReply}, {"live", liveRequest(b)}} {
		for _, impl := range []struct {
			name  string
			valid func([]byte) bool
		}{{"jsonscan", jsonscan.Valid}, {"encoding-json", func(d []byte) bool { return utf8.Valid(d) && json.Valid(d) }}} {
			b.Run(doc.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(doc.b)))
				b.ReportAllocs()
				for b.Loop() {
					if !impl.valid(doc.b) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}

var benchNames = []string{"model", "session", "type", "audio", "input", "transcription",
	"expires_after", "client_secret", "input_audio_transcription", "expires_at", "seconds"}

// BenchmarkMembers scans the top-level members of a request for the names
// the middleware reads.
func BenchmarkMembers(b *testing.B) {
	out := make([]jsonscan.Member, len(benchNames))
	root := jsonscan.Root(benchRequest)
	b.ReportAllocs()
	for b.Loop() {
		if err := jsonscan.Members(benchRequest, root, benchNames, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply makes the edits of a GA normalization: the model replaced
// and session.type inserted.
func BenchmarkApply(b *testing.B) {
	var out [3]jsonscan.Member
	root := jsonscan.Root(benchRequest)
	if err := jsonscan.Members(benchRequest, root, []string{"session"}, out[:1]); err != nil {
		b.Fatal(err)
	}
	session := out[0].Value
	if err := jsonscan.Members(benchRequest, session, []string{"model"}, out[1:2]); err != nil {
		b.Fatal(err)
	}
	model := out[1].Value
	b.ReportAllocs()
	for b.Loop() {
		edits := []jsonscan.Edit{
			{Span: model, Text: []byte(`"gpt-realtime"`)},
			{Span: jsonscan.Span{Start: session.Start + 1, End: session.Start + 1}, Text: []byte(`"type":"realtime",`)},
		}
		jsonscan.Apply(benchRequest, edits)
	}
}
