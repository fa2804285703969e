package realtimesecret

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// betaCase is a beta request body and the GA body it becomes, or the
// refusal it gets.
type betaCase struct {
	name  string
	in    string // the members of the beta body besides the ones every case has
	want  string // the GA body; "" when refused
	param string // the refusal's param
	code  string // the refusal's code
}

// betaRequest runs cases through tr, each beta body being {prefix,in}.
func betaRequest(t *testing.T, tr *translation, prefix string, cases []betaCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := "{" + prefix
			if tc.in != "" && prefix != "" {
				in += ","
			}
			in += tc.in + "}"
			require.True(t, jsonscan.Valid([]byte(in)), in)
			got, e := tr.toGA([]byte(in))
			if tc.want == "" {
				require.NotNil(t, e, "translated into %s", got)
				assert.Equal(t, 400, e.Status)
				assert.Equal(t, tc.code, e.Code, e.Message)
				assert.Equal(t, tc.param, e.Param, e.Message)
				return
			}
			require.Nil(t, e)
			assert.JSONEq(t, tc.want, string(got))
			requireWrittenOnce(t, got, jsonscan.Root(got), "session", "audio", "input", "output")
		})
	}
}

// TestBetaSessionRequest has a case per row of betaSessionFields
// (TestBetaTablesCovered checks that none is left out).
func TestBetaSessionRequest(t *testing.T) {
	betaRequest(t, betaSession, `"model":"gpt-realtime"`, betaSessionCases())
}

func betaSessionCases() []betaCase {
	ga := func(members string) string {
		if members != "" {
			members = "," + members
		}
		return `{"session":{"type":"realtime","model":"gpt-realtime"` + members + `}}`
	}
	return []betaCase{
		{name: "model only", want: ga("")},
		{name: "instructions", in: `"instructions":"Be brief."`, want: ga(`"instructions":"Be brief."`)},
		{name: "voice", in: `"voice":"alloy"`, want: ga(`"audio":{"output":{"voice":"alloy"}}`)},
		{name: "speed", in: `"speed":1.25`, want: ga(`"audio":{"output":{"speed":1.25}}`)},
		{name: "modalities audio and text", in: `"modalities":["audio","text"]`, want: ga(`"output_modalities":["audio"]`)},
		{name: "modalities text and audio", in: `"modalities":["text","audio"]`, want: ga(`"output_modalities":["audio"]`)},
		{name: "modalities text", in: `"modalities":["text"]`, want: ga(`"output_modalities":["text"]`)},
		{name: "modalities audio", in: `"modalities":["audio"]`, want: ga(`"output_modalities":["audio"]`)},
		{name: "input_audio_format pcm16", in: `"input_audio_format":"pcm16"`, want: ga(`"audio":{"input":{"format":{"type":"audio/pcm","rate":24000}}}`)},
		{name: "input_audio_format g711_ulaw", in: `"input_audio_format":"g711_ulaw"`, want: ga(`"audio":{"input":{"format":{"type":"audio/pcmu"}}}`)},
		{name: "input_audio_format g711_alaw escaped", in: `"input_audio_format":"g711_\u0061law"`, want: ga(`"audio":{"input":{"format":{"type":"audio/pcma"}}}`)},
		{name: "output_audio_format", in: `"output_audio_format":"g711_alaw"`, want: ga(`"audio":{"output":{"format":{"type":"audio/pcma"}}}`)},
		{name: "input_audio_transcription", in: `"input_audio_transcription":{"model":"whisper-1","language":"en","prompt":"p"}`,
			want: ga(`"audio":{"input":{"transcription":{"model":"whisper-1","language":"en","prompt":"p"}}}`)},
		{name: "input_audio_transcription null", in: `"input_audio_transcription":null`, want: ga(`"audio":{"input":{"transcription":null}}`)},
		{name: "turn_detection", in: `"turn_detection":{"type":"semantic_vad","eagerness":"low"}`,
			want: ga(`"audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"low"}}}`)},
		{name: "turn_detection null", in: `"turn_detection":null`, want: ga(`"audio":{"input":{"turn_detection":null}}`)},
		{name: "input_audio_noise_reduction", in: `"input_audio_noise_reduction":{"type":"near_field"}`,
			want: ga(`"audio":{"input":{"noise_reduction":{"type":"near_field"}}}`)},
		{name: "tools", in: `"tools":[{"type":"function","name":"f","parameters":{}}]`, want: ga(`"tools":[{"type":"function","name":"f","parameters":{}}]`)},
		{name: "tool_choice string", in: `"tool_choice":"required"`, want: ga(`"tool_choice":"required"`)},
		{name: "tool_choice object", in: `"tool_choice":{"type":"function","name":"f"}`, want: ga(`"tool_choice":{"type":"function","name":"f"}`)},
		{name: "max_response_output_tokens", in: `"max_response_output_tokens":200`, want: ga(`"max_output_tokens":200`)},
		{name: "max_response_output_tokens inf", in: `"max_response_output_tokens":"inf"`, want: ga(`"max_output_tokens":"inf"`)},
		{name: "tracing auto", in: `"tracing":"auto"`, want: ga(`"tracing":"auto"`)},
		{name: "tracing object", in: `"tracing":{"workflow_name":"w"}`, want: ga(`"tracing":{"workflow_name":"w"}`)},
		{name: "tracing null", in: `"tracing":null`, want: ga(`"tracing":null`)},
		{name: "client_secret.expires_after", in: `"client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"gpt-realtime"}}`},
		{name: "client_secret null", in: `"client_secret":null`, want: ga("")},
		{name: "client_secret empty", in: `"client_secret":{}`, want: ga("")},
		{name: "client_secret.expires_after null", in: `"client_secret":{"expires_after":null}`, want: ga("")},
		{name: "every audio member into one audio object",
			in: `"voice":"ash","input_audio_format":"pcm16","turn_detection":null,"output_audio_format":"pcm16","speed":1,` +
				`"input_audio_noise_reduction":null,"input_audio_transcription":{"model":"gpt-4o-transcribe"}`,
			want: ga(`"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"turn_detection":null,"noise_reduction":null,` +
				`"transcription":{"model":"gpt-4o-transcribe"}},"output":{"voice":"ash","format":{"type":"audio/pcm","rate":24000},"speed":1}}`)},
		{name: "fixture", in: `"modalities":["audio","text"],"instructions":"You are a friendly assistant.","voice":"alloy",` +
			`"client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"gpt-realtime",` +
				`"output_modalities":["audio"],"instructions":"You are a friendly assistant.","audio":{"output":{"voice":"alloy"}}}}`},

		{name: "temperature has no GA equivalent", in: `"temperature":0.8`, param: "temperature", code: "unsupported_parameter"},
		{name: "GA session mixed in", in: `"session":{"type":"realtime"}`, param: "session", code: "mixed_api_shapes"},
		{name: "GA audio mixed in", in: `"voice":"alloy","audio":{"output":{"voice":"marin"}}`, param: "audio", code: "mixed_api_shapes"},
		{name: "GA output_modalities mixed in", in: `"output_modalities":["text"]`, param: "output_modalities", code: "mixed_api_shapes"},
		{name: "GA expires_after mixed in", in: `"expires_after":{"seconds":60}`, param: "expires_after", code: "mixed_api_shapes"},
		{name: "GA type mixed in", in: `"type":"realtime"`, param: "type", code: "mixed_api_shapes"},
		{name: "unknown member", in: `"colour":"blue"`, param: "colour", code: "unknown_parameter"},
		{name: "unknown client_secret member", in: `"client_secret":{"value":"ek_x"}`, param: "client_secret.value", code: "unknown_parameter"},
		{name: "repeated voice", in: `"voice":"alloy","voice":"ash"`, code: "duplicate_key"},
		{name: "repeated escaped voice", in: `"voice":"alloy","v\u006fice":"ash"`, code: "duplicate_key"},
		{name: "repeated client_secret.expires_after", in: `"client_secret":{"expires_after":{"seconds":60},"expires_after":{"seconds":70}}`,
			param: "client_secret", code: "duplicate_key"},
		{name: "voice not a string", in: `"voice":1`, param: "voice", code: "invalid_type"},
		{name: "instructions null", in: `"instructions":null`, param: "instructions", code: "invalid_type"},
		{name: "modalities not an array", in: `"modalities":"audio"`, param: "modalities", code: "invalid_type"},
		{name: "modalities unknown", in: `"modalities":["video"]`, param: "modalities", code: "invalid_value"},
		{name: "modalities not strings", in: `"modalities":[1]`, param: "modalities", code: "invalid_value"},
		{name: "modalities empty", in: `"modalities":[]`, param: "modalities", code: "invalid_value"},
		{name: "input_audio_format unknown", in: `"input_audio_format":"mp3"`, param: "input_audio_format", code: "invalid_value"},
		{name: "input_audio_format an object", in: `"input_audio_format":{"type":"audio/pcm"}`, param: "input_audio_format", code: "invalid_type"},
		{name: "output_audio_format unknown", in: `"output_audio_format":"opus"`, param: "output_audio_format", code: "invalid_value"},
		{name: "tools an object", in: `"tools":{}`, param: "tools", code: "invalid_type"},
		{name: "tool_choice a number", in: `"tool_choice":1`, param: "tool_choice", code: "invalid_type"},
		{name: "speed a string", in: `"speed":"fast"`, param: "speed", code: "invalid_type"},
		{name: "max_response_output_tokens a fraction", in: `"max_response_output_tokens":1.5`, param: "max_response_output_tokens", code: "invalid_type"},
		{name: "turn_detection a string", in: `"turn_detection":"server_vad"`, param: "turn_detection", code: "invalid_type"},
		{name: "input_audio_transcription an array", in: `"input_audio_transcription":[]`, param: "input_audio_transcription", code: "invalid_type"},
		{name: "input_audio_noise_reduction a bool", in: `"input_audio_noise_reduction":true`, param: "input_audio_noise_reduction", code: "invalid_type"},
		{name: "tracing a number", in: `"tracing":1`, param: "tracing", code: "invalid_type"},
		{name: "client_secret a string", in: `"client_secret":"x"`, param: "client_secret", code: "invalid_type"},
		{name: "client_secret.expires_after a number", in: `"client_secret":{"expires_after":60}`, param: "client_secret.expires_after", code: "invalid_type"},
	}
}

func TestBetaTranscriptionRequest(t *testing.T) {
	betaRequest(t, betaTranscription, "", betaTranscriptionCases())
}

func betaTranscriptionCases() []betaCase {
	ga := func(audioInput, more string) string {
		s := `{"session":{"type":"transcription"`
		if audioInput != "" {
			s += `,"audio":{"input":{` + audioInput + `}}`
		}
		if more != "" {
			s += "," + more
		}
		return s + "}}"
	}
	return []betaCase{
		{name: "empty", want: ga("", "")},
		{name: "input_audio_format", in: `"input_audio_format":"g711_ulaw"`, want: ga(`"format":{"type":"audio/pcmu"}`, "")},
		{name: "input_audio_transcription", in: `"input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"}`,
			want: ga(`"transcription":{"model":"gpt-4o-transcribe","language":"en"}`, "")},
		{name: "input_audio_noise_reduction", in: `"input_audio_noise_reduction":{"type":"far_field"}`, want: ga(`"noise_reduction":{"type":"far_field"}`, "")},
		{name: "turn_detection", in: `"turn_detection":{"type":"server_vad","threshold":0.5}`, want: ga(`"turn_detection":{"type":"server_vad","threshold":0.5}`, "")},
		{name: "turn_detection null", in: `"turn_detection":null`, want: ga(`"turn_detection":null`, "")},
		{name: "include", in: `"include":["item.input_audio_transcription.logprobs"]`, want: ga("", `"include":["item.input_audio_transcription.logprobs"]`)},
		{name: "client_secret.expires_at", in: `"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":300},"session":{"type":"transcription"}}`},
		{name: "fixture", in: `"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"},` +
			`"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200},` +
			`"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}`,
			want: `{"expires_after":{"anchor":"created_at","seconds":300},"session":{"type":"transcription","audio":{"input":{` +
				`"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200},` +
				`"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":"en"}}}}}`},

		{name: "modalities have no GA equivalent", in: `"modalities":["text"]`, param: "modalities", code: "unsupported_parameter"},
		{name: "a realtime member", in: `"model":"gpt-realtime"`, param: "model", code: "unknown_parameter"},
		{name: "GA session mixed in", in: `"session":{"type":"transcription"}`, param: "session", code: "mixed_api_shapes"},
		{name: "GA audio mixed in", in: `"audio":{}`, param: "audio", code: "mixed_api_shapes"},
		{name: "beta session expiry name", in: `"client_secret":{"expires_after":{"seconds":60}}`, param: "client_secret.expires_after", code: "unknown_parameter"},
		{name: "repeated include", in: `"include":[],"include":[]`, code: "duplicate_key"},
		{name: "include a string", in: `"include":"item.input_audio_transcription.logprobs"`, param: "include", code: "invalid_type"},
		{name: "input_audio_format unknown", in: `"input_audio_format":"pcm24"`, param: "input_audio_format", code: "invalid_value"},
	}
}

// TestBetaTablesCovered fails when a request row of a table has no case
// above that sends it.
func TestBetaTablesCovered(t *testing.T) {
	for name, tc := range map[string]struct {
		fields []field
		cases  []betaCase
		prefix string // the member every case has
	}{
		"sessions":               {betaSessionFields, betaSessionCases(), "model"},
		"transcription_sessions": {betaTranscriptionFields, betaTranscriptionCases(), ""},
	} {
		sent := map[string]bool{tc.prefix: true}
		for _, c := range tc.cases {
			var members map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte("{"+c.in+"}"), &members), c.in)
			for k, v := range members {
				sent[k] = true
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) == nil {
					for ik := range inner {
						sent[k+"."+ik] = true
					}
				}
			}
		}
		for _, f := range tc.fields {
			if f.way != answerOnly && f.beta != "" {
				assert.True(t, sent[f.beta], "%s: no case sends %s", name, f.beta)
			}
		}
	}
}

func TestBetaSessionAnswer(t *testing.T) {
	ga := `{"value":"ek_68af","expires_at":1756310470,"session":{"type":"realtime","object":"realtime.session",` +
		`"id":"sess_C9Ci","model":"gpt-realtime","output_modalities":["audio"],"instructions":"Be brief.","tools":[],` +
		`"tool_choice":"auto","max_output_tokens":"inf","tracing":null,"truncation":"auto","prompt":null,"expires_at":0,` +
		`"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,` +
		`"turn_detection":{"type":"server_vad"}},"output":{"format":{"type":"audio/pcmu"},"voice":"marin","speed":1.0}},"include":null}}`
	want := `{"id":"sess_C9Ci","object":"realtime.session","model":"gpt-realtime","modalities":["audio","text"],` +
		`"instructions":"Be brief.","voice":"marin","input_audio_format":"pcm16","output_audio_format":"g711_ulaw",` +
		`"input_audio_transcription":null,"turn_detection":{"type":"server_vad"},"input_audio_noise_reduction":null,` +
		`"tools":[],"tool_choice":"auto","max_response_output_tokens":"inf","speed":1.0,"tracing":null,` +
		`"client_secret":{"value":"ek_68af","expires_at":1756310470}}`
	got, ok := betaSession.toBeta([]byte(ga))
	require.True(t, ok)
	assert.Equal(t, want, string(got), "the beta answer's members, in its order")

	for _, tc := range []struct{ name, session, want string }{
		{"text only", `"output_modalities":["text"]`, `"modalities":["text"]`},
		{"G.711 A-law", `"audio":{"output":{"format":{"type":"audio/pcma"}}}`, `"output_audio_format":"g711_alaw"`},
		{"format a string", `"audio":{"input":{"format":"pcm16"}}`, `"input_audio_format":"pcm16"`},
		{"format unknown", `"audio":{"input":{"format":{"type":"audio/opus"}}}`, `"input_audio_format":{"type":"audio/opus"}`},
		{"modalities unknown", `"output_modalities":"both"`, `"modalities":"both"`},
		{"GA-only members dropped", `"truncation":"auto","prompt":null,"reasoning":{}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := betaSession.toBeta([]byte(`{"value":"ek_1","expires_at":2,"session":{` + tc.session + `}}`))
			require.True(t, ok)
			members := `"client_secret":{"value":"ek_1","expires_at":2}`
			if tc.want != "" {
				members = tc.want + "," + members
			}
			assert.JSONEq(t, "{"+members+"}", string(got))
		})
	}
}

func TestBetaTranscriptionAnswer(t *testing.T) {
	ga := `{"value":"ek_7f3c","expires_at":1234567890,"session":{"type":"transcription","object":"realtime.transcription_session",` +
		`"id":"sess_BBwZ","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe",` +
		`"language":"en","prompt":""},"noise_reduction":null,"turn_detection":{"type":"server_vad","threshold":0.5}}},` +
		`"include":null,"expires_at":0}}`
	want := `{"id":"sess_BBwZ","object":"realtime.transcription_session","turn_detection":{"type":"server_vad","threshold":0.5},` +
		`"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en","prompt":""},` +
		`"input_audio_noise_reduction":null,"include":null,"client_secret":{"value":"ek_7f3c","expires_at":1234567890}}`
	got, ok := betaTranscription.toBeta([]byte(ga))
	require.True(t, ok)
	assert.Equal(t, want, string(got))
}

func TestBetaAnswerUnusable(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `"ek_1"`, `{"value":"ek_1"`,
		`{"value":"ek_1","value":"ek_2","expires_at":1}`,
		`{"value":"ek_1","expires_at":1,"session":[]}`,
		`{"value":"ek_1","expires_at":1,"session":{"audio":{"input":{"format":1,"format":2}}}}`,
		"{\"value\":\"ek_\xff\"}",
	} {
		_, ok := betaSession.toBeta([]byte(body))
		assert.False(t, ok, body)
	}
}

func TestBetaErrorParams(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"error":{"message":"m","type":"invalid_request_error","param":"session.audio.output.voice","code":"invalid_value"}}`,
			`{"error":{"message":"m","type":"invalid_request_error","param":"voice","code":"invalid_value"}}`},
		{`{"error":{"param":"session.tools[0].name"}}`, `{"error":{"param":"tools[0].name"}}`},
		{`{"error":{"param":"session.audio.input.turn_detection.threshold"}}`, `{"error":{"param":"turn_detection.threshold"}}`},
		{`{"error":{"param":"expires_after.seconds"}}`, `{"error":{"param":"client_secret.expires_after.seconds"}}`},
		{`{"error":{"param":"session.max_output_tokens"}}`, `{"error":{"param":"max_response_output_tokens"}}`},
		{`{"error":{"param":"session.tool_choice_x"}}`, `{"error":{"param":"session.tool_choice_x"}}`},
		{`{"error":{"param":"session.truncation"}}`, `{"error":{"param":"session.truncation"}}`},
		{`{"error":{"param":null}}`, `{"error":{"param":null}}`},
		{`{"error":"x"}`, `{"error":"x"}`},
		{`not json`, `not json`},
	} {
		assert.Equal(t, tc.want, string(betaSession.errorParams([]byte(tc.in))), tc.in)
	}
	got := betaTranscription.errorParams([]byte(`{"error":{"param":"expires_after.seconds"}}`))
	assert.Equal(t, `{"error":{"param":"client_secret.expires_at.seconds"}}`, string(got))
}

func TestBetaTranslationFor(t *testing.T) {
	assert.Same(t, betaSession, betaTranslation(contract.EndpointSession, false))
	assert.Same(t, betaTranscription, betaTranslation(contract.EndpointTranscriptionSession, false))
	assert.Nil(t, betaTranslation(contract.EndpointSession, true))
	assert.Nil(t, betaTranslation(contract.EndpointTranscriptionSession, true))
	assert.Nil(t, betaTranslation(contract.EndpointClientSecret, false))
	assert.Nil(t, betaTranslation(contract.EndpointTranslation, false))
	var none *translation
	req := &contract.MintRequest{Endpoint: contract.EndpointSession, Body: []byte(`{}`)}
	assert.Nil(t, none.request(req))
	assert.Equal(t, contract.EndpointSession, req.Endpoint)
	assert.Nil(t, none.answer(&contract.Reply{StatusCode: 200, Body: []byte(`[]`)}))
}

func TestCompileTranslationRefusesBadTables(t *testing.T) {
	for name, fields := range map[string][]field{
		"two rows write one place":    {{beta: "a", ga: "x", accepts: kindString}, {beta: "b", ga: "x", accepts: kindString}},
		"a leaf and an object":        {{beta: "a", ga: "x", accepts: kindString}, {beta: "a.b", ga: "y", accepts: kindString}},
		"a request row without kinds": {{beta: "a", ga: "x"}},
		"too deep":                    {{beta: "a", ga: "a.b.c.d.e.f", accepts: kindString}},
	} {
		assert.Panics(t, func() { compileTranslation(fields) }, name)
	}
}

// FuzzBetaTranslation translates any valid JSON object both ways: a
// request is refused with a 400 or becomes one valid GA object, whose
// session has its table's type, without a repeated member in the objects
// the translation writes; an answer becomes such a beta object or is
// refused; an error body stays valid. Nothing panics.
func FuzzBetaTranslation(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-realtime","modalities":["audio","text"],"instructions":"You are a friendly assistant.","voice":"alloy",` +
			`"client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}}`,
		`{"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"},` +
			`"turn_detection":{"type":"server_vad"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}}`,
		`{"value":"ek_1","expires_at":2,"session":{"type":"realtime","output_modalities":["audio"],"audio":{"input":{"format":{"type":"audio/pcmu"}}}}}`,
		`{"error":{"message":"m","param":"session.audio.output.voice"}}`,
		`{"voice":"a","v\u006fice":"b"}`, `{"temperature":1}`, `{"session":{}}`, `{"client_secret":null}`, `{}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, transcription bool) {
		if !jsonscan.Valid(doc) || !jsonscan.IsObject(doc, jsonscan.Root(doc)) {
			return // admission refuses these before a translation
		}
		tr, typ := betaSession, "realtime"
		if transcription {
			tr, typ = betaTranscription, "transcription"
		}
		out, e := tr.toGA(doc)
		if e != nil {
			require.Equal(t, 400, e.Status)
			require.NotEmpty(t, e.Code)
			require.Nil(t, out)
		} else {
			require.True(t, jsonscan.Valid(out), "%q -> %q", doc, out)
			requireWrittenOnce(t, out, jsonscan.Root(out), "session", "audio", "input", "output")
			var v struct {
				Session struct {
					Type string `json:"type"`
				} `json:"session"`
			}
			require.NoError(t, json.Unmarshal(out, &v))
			require.Equal(t, typ, v.Session.Type)
		}
		if beta, ok := tr.toBeta(doc); ok {
			require.True(t, jsonscan.Valid(beta), "%q -> %q", doc, beta)
			requireWrittenOnce(t, beta, jsonscan.Root(beta), "client_secret")
		}
		if fixed := tr.errorParams(doc); !bytes.Equal(fixed, doc) {
			require.True(t, jsonscan.Valid(fixed), "%q -> %q", doc, fixed)
		}
	})
}

// requireWrittenOnce fails when the object at obj, or one of its members
// named in written (the objects a translation writes, as opposed to the
// values it copies), repeats a member.
func requireWrittenOnce(t *testing.T, doc []byte, obj jsonscan.Span, written ...string) {
	t.Helper()
	seen := map[string]bool{}
	it := jsonscan.Walk(doc, obj)
	for {
		key, v, ok := it.Next()
		if !ok {
			return
		}
		name, _ := jsonscan.String(doc, key)
		require.False(t, seen[name], "%s repeats %q", doc, name)
		seen[name] = true
		if jsonscan.IsObject(doc, v) && slices.Contains(written, name) {
			requireWrittenOnce(t, doc, v, written...)
		}
	}
}
