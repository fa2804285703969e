package realtimesecret

import (
	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// OpenAI has switched the beta Realtime API off (its beta routes answer
// 400 beta_api_shape_disabled) and Azure's preview API is deprecated. A
// mint at a beta route of a provider whose ProviderConfig.Beta is
// "translate" is sent to the GA client secret endpoint instead: the beta
// body is translated into the GA one, and the GA answer back into the
// beta shape, so that legacy clients keep their parser. The tables below
// are the whole translation; translate.go runs them.

// betaSessionFields translates POST /v1/realtime/sessions. Its order is the
// order of the beta answer (client_secret last).
var betaSessionFields = []field{
	{beta: "client_secret.expires_after", ga: "expires_after", way: requestOnly, accepts: kindObject, null: nullOmitted},
	{ga: "session.type", constant: `"realtime"`},
	{beta: "id", ga: "session.id", way: answerOnly},
	{beta: "object", ga: "session.object", way: answerOnly},
	{beta: "model", ga: "session.model", accepts: kindString},
	{beta: "modalities", ga: "session.output_modalities", accepts: kindArray, conv: &modalities},
	{beta: "instructions", ga: "session.instructions", accepts: kindString},
	{beta: "voice", ga: "session.audio.output.voice", accepts: kindString},
	{beta: "input_audio_format", ga: "session.audio.input.format", accepts: kindString, conv: &audioFormat},
	{beta: "output_audio_format", ga: "session.audio.output.format", accepts: kindString, conv: &audioFormat},
	{beta: "input_audio_transcription", ga: "session.audio.input.transcription", accepts: kindObject, null: nullCopied},
	{beta: "turn_detection", ga: "session.audio.input.turn_detection", accepts: kindObject, null: nullCopied},
	{beta: "input_audio_noise_reduction", ga: "session.audio.input.noise_reduction", accepts: kindObject, null: nullCopied},
	{beta: "tools", ga: "session.tools", accepts: kindArray},
	{beta: "tool_choice", ga: "session.tool_choice", accepts: kindString | kindObject},
	{beta: "temperature", accepts: kindNumber}, // GA sessions have no temperature
	{beta: "max_response_output_tokens", ga: "session.max_output_tokens", accepts: kindInteger | kindString},
	{beta: "speed", ga: "session.audio.output.speed", accepts: kindNumber},
	{beta: "tracing", ga: "session.tracing", accepts: kindString | kindObject, null: nullCopied},
	{beta: "client_secret.value", ga: "value", way: answerOnly},
	{beta: "client_secret.expires_at", ga: "expires_at", way: answerOnly},
}

// betaTranscriptionFields translates POST
// /v1/realtime/transcription_sessions onto a GA session of type
// "transcription". Its request names the expiry client_secret.expires_at,
// the name its answer gives the expiry time.
var betaTranscriptionFields = []field{
	{beta: "client_secret.expires_at", ga: "expires_after", way: requestOnly, accepts: kindObject, null: nullOmitted},
	{ga: "session.type", constant: `"transcription"`},
	{beta: "id", ga: "session.id", way: answerOnly},
	{beta: "object", ga: "session.object", way: answerOnly},
	{beta: "modalities", accepts: kindArray}, // a GA transcription session answers nothing
	{beta: "turn_detection", ga: "session.audio.input.turn_detection", accepts: kindObject, null: nullCopied},
	{beta: "input_audio_format", ga: "session.audio.input.format", accepts: kindString, conv: &audioFormat},
	{beta: "input_audio_transcription", ga: "session.audio.input.transcription", accepts: kindObject, null: nullCopied},
	{beta: "input_audio_noise_reduction", ga: "session.audio.input.noise_reduction", accepts: kindObject, null: nullCopied},
	{beta: "include", ga: "session.include", accepts: kindArray, null: nullCopied},
	{beta: "client_secret.value", ga: "value", way: answerOnly},
	{beta: "client_secret.expires_at", ga: "expires_at", way: answerOnly},
}

// gaSessionMembers are GA members a beta request must not mix in; the
// first four are GA's in a transcription session too.
var gaSessionMembers = []string{"session", "expires_after", "type", "audio", "output_modalities", "max_output_tokens",
	"truncation", "prompt", "include", "reasoning", "parallel_tool_calls"}

var (
	betaSession       = compileTranslation(betaSessionFields, gaSessionMembers...)
	betaTranscription = compileTranslation(betaTranscriptionFields, gaSessionMembers[:4]...)
)

// betaTranslation returns the translation of a mint at ep onto the GA
// endpoint, or nil when ep is not a beta endpoint or forward is set.
func betaTranslation(ep Endpoint, forward bool) *translation {
	switch {
	case forward:
		return nil
	case ep == contract.EndpointSession:
		return betaSession
	case ep == contract.EndpointTranscriptionSession:
		return betaTranscription
	}
	return nil
}

// audioFormats are the beta audio formats and their GA objects.
var audioFormats = [...]struct{ beta, ga, gaType string }{
	{"pcm16", `{"type":"audio/pcm","rate":24000}`, "audio/pcm"},
	{"g711_ulaw", `{"type":"audio/pcmu"}`, "audio/pcmu"},
	{"g711_alaw", `{"type":"audio/pcma"}`, "audio/pcma"},
}

var typeKey = []string{"type"}

// audioFormat converts "pcm16" to {"type":"audio/pcm","rate":24000} and
// back, and the two G.711 laws likewise.
var audioFormat = converter{
	toGA: func(dst, doc []byte, v jsonscan.Span, param string) ([]byte, *Error) {
		for _, f := range audioFormats {
			if stringIs(doc, v, f.beta) {
				return append(dst, f.ga...), nil
			}
		}
		return nil, badRequest(param+" must be one of pcm16, g711_ulaw or g711_alaw", param, "invalid_value")
	},
	toBeta: func(dst, doc []byte, v jsonscan.Span) []byte {
		var t [1]jsonscan.Member
		if jsonscan.IsObject(doc, v) && jsonscan.Members(doc, v, typeKey, t[:]) == nil && t[0].Found() {
			for _, f := range audioFormats {
				if stringIs(doc, t[0].Value, f.gaType) {
					return jsonscan.AppendString(dst, f.beta)
				}
			}
		}
		return append(dst, doc[v.Start:v.End]...)
	},
}

// modalities converts the beta modalities to GA output_modalities and
// back. GA answers with audio (and its transcript) or with text alone,
// never both: beta's ["audio","text"] is GA's ["audio"].
var modalities = converter{
	toGA: func(dst, doc []byte, v jsonscan.Span, param string) ([]byte, *Error) {
		var audio, text bool
		it := jsonscan.Walk(doc, v)
		for {
			_, m, ok := it.Next()
			if !ok {
				break
			}
			switch {
			case stringIs(doc, m, "audio"):
				audio = true
			case stringIs(doc, m, "text"):
				text = true
			default:
				return nil, badRequest(param+` may hold only "text" and "audio"`, param, "invalid_value")
			}
		}
		switch {
		case audio:
			return append(dst, `["audio"]`...), nil
		case text:
			return append(dst, `["text"]`...), nil
		}
		return nil, badRequest(param+` must hold "text", "audio" or both`, param, "invalid_value")
	},
	toBeta: func(dst, doc []byte, v jsonscan.Span) []byte {
		if doc[v.Start] == '[' {
			it := jsonscan.Walk(doc, v)
			for {
				_, m, ok := it.Next()
				if !ok {
					break
				}
				if stringIs(doc, m, "audio") {
					return append(dst, `["audio","text"]`...)
				}
			}
		}
		return append(dst, doc[v.Start:v.End]...)
	},
}

// stringIs reports whether v holds the string s; an unescaped one is
// compared without being copied.
func stringIs(doc []byte, v jsonscan.Span, s string) bool {
	if !jsonscan.IsString(doc, v) {
		return false
	}
	if raw, escaped := jsonscan.Key(doc, v); !escaped {
		return string(raw) == s
	}
	d, _ := jsonscan.String(doc, v)
	return d == s
}
