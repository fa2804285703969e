package fakeupstream

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// endpoint is a kind of mint route.
type endpoint int

const (
	gaClientSecret    endpoint = iota // POST /v1/realtime/client_secrets
	gaTranslation                     // POST /v1/realtime/translations/client_secrets
	betaSession                       // POST /v1/realtime/sessions
	betaTranscription                 // POST /v1/realtime/transcription_sessions
)

// Models OpenAI uses when a request names none.
const (
	defaultGAModel   = `"gpt-realtime"`
	defaultBetaModel = `"gpt-4o-realtime-preview"`
)

const defaultInstructions = `"Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. ` +
	`Act like a human, but remember that you aren't a human and that you can't do human things in the real world."`

const serverVAD = `{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200,` +
	`"idle_timeout_ms":null,"create_response":true,"interrupt_response":true}`

// Fields OpenAI fills in when the request leaves them out, in its order.
var (
	gaRealtimeDefaults = defaults(
		"output_modalities", `["audio"]`,
		"instructions", defaultInstructions,
		"tools", `[]`,
		"tool_choice", `"auto"`,
		"max_output_tokens", `"inf"`,
		"tracing", `null`,
		"truncation", `"auto"`,
		"prompt", `null`,
		"audio", `{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,`+
			`"turn_detection":`+serverVAD+`},"output":{"format":{"type":"audio/pcm","rate":24000},"voice":"alloy","speed":1.0}}`,
		"include", `null`,
	)
	gaTranscriptionDefaults = defaults(
		"audio", `{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,`+
			`"turn_detection":`+serverVAD+`}}`,
		"include", `null`,
	)
	translationDefaults = defaults(
		"audio", `{"input":{"transcription":null,"noise_reduction":null},"output":{"language":"en"}}`,
	)
	betaSessionDefaults = defaults(
		"modalities", `["audio","text"]`,
		"instructions", defaultInstructions,
		"voice", `"alloy"`,
		"input_audio_format", `"pcm16"`,
		"output_audio_format", `"pcm16"`,
		"input_audio_transcription", `null`,
		"turn_detection", serverVAD,
		"tools", `[]`,
		"tool_choice", `"auto"`,
		"temperature", `0.8`,
		"max_response_output_tokens", `"inf"`,
		"speed", `1.0`,
		"tracing", `null`,
	)
	betaTranscriptionDefaults = defaults(
		"modalities", `["audio","text"]`,
		"input_audio_format", `"pcm16"`,
		"input_audio_transcription", `null`,
		"turn_detection", serverVAD,
		"input_audio_noise_reduction", `null`,
		"include", `null`,
	)
)

// Fields of a session the server sets itself; the request's are dropped.
var (
	gaReserved         = []string{"type", "object", "id", "model", "expires_at"}
	betaReserved       = []string{"id", "object", "model", "client_secret", "expires_at"}
	transcriptReserved = []string{"id", "object", "client_secret", "expires_at"}
)

// mint checks the request body for ep and renders the answer.
func (s *Server) mint(ep endpoint, body []byte, now time.Time) ([]byte, *apiError) {
	if len(body) == 0 || !json.Valid(body) {
		return nil, errNotJSON
	}
	top, err := objectMembers(body)
	if err != nil {
		return nil, errNotObject
	}
	switch ep {
	case gaClientSecret:
		return s.mintGA(top, now)
	case gaTranslation:
		return s.mintTranslation(top, now)
	case betaSession:
		return s.mintBetaSession(top, now)
	default:
		return s.mintBetaTranscription(top, now)
	}
}

// gaMembersOnly refuses a GA request member other than expires_after and
// session, as OpenAI does (a forwarded top-level "model" ends here).
func gaMembersOnly(top []member) *apiError {
	for i := range top {
		if m := &top[i]; !m.is("expires_after") && !m.is("session") {
			return &apiError{status: http.StatusBadRequest, param: m.key(), code: "unknown_parameter",
				message: "Unknown parameter: '" + m.key() + "'."}
		}
	}
	return nil
}

func (s *Server) mintGA(top []member, now time.Time) ([]byte, *apiError) {
	if e := gaMembersOnly(top); e != nil {
		return nil, e
	}
	exp, e := s.expiresAt(top, "expires_after", "expires_after", now)
	if e != nil {
		return nil, e
	}
	sess, present, e := objectAt(top, "session", "session")
	if e != nil {
		return nil, e
	}
	typ := "realtime"
	if present {
		var ok bool
		_, typ, ok, e = stringAt(sess, "type", "session.type")
		if e != nil {
			return nil, e
		}
		if !ok {
			return nil, missing("session.type")
		}
	}
	switch typ {
	case "realtime":
		model, e := s.model(sess, "model", "session.model", defaultGAModel)
		if e != nil {
			return nil, e
		}
		b := s.beginGA(exp, sess)
		b = append(b, `"type":"realtime","object":"realtime.session","id":`...)
		b = appendID(b, "sess_")
		b = append(b, `,"model":`...)
		b = append(b, model...)
		b = appendMembers(b, sess, gaReserved)
		b = appendDefaults(b, sess, gaRealtimeDefaults)
		return append(b, `,"expires_at":0}}`...), nil
	case "transcription":
		if e := transcriptionModel(sess, "audio", "session.audio"); e != nil {
			return nil, e
		}
		b := s.beginGA(exp, sess)
		b = append(b, `"type":"transcription","object":"realtime.transcription_session","id":`...)
		b = appendID(b, "sess_")
		b = appendMembers(b, sess, gaReserved)
		b = appendDefaults(b, sess, gaTranscriptionDefaults)
		return append(b, `,"expires_at":0}}`...), nil
	}
	return nil, invalidValue("session.type", typ, "'realtime' and 'transcription'")
}

func (s *Server) mintTranslation(top []member, now time.Time) ([]byte, *apiError) {
	if e := gaMembersOnly(top); e != nil {
		return nil, e
	}
	exp, e := s.expiresAt(top, "expires_after", "expires_after", now)
	if e != nil {
		return nil, e
	}
	sess, present, e := objectAt(top, "session", "session")
	if e != nil {
		return nil, e
	}
	if !present {
		return nil, missing("session")
	}
	model, e := s.model(sess, "model", "session.model", "")
	if e != nil {
		return nil, e
	}
	b := s.beginGA(exp, sess)
	b = append(b, `"id":`...)
	b = appendID(b, "sess_")
	b = append(b, `,"type":"translation","expires_at":`...)
	b = strconv.AppendInt(b, exp, 10)
	b = append(b, `,"model":`...)
	b = append(b, model...)
	b = appendMembers(b, sess, gaReserved)
	b = appendDefaults(b, sess, translationDefaults)
	return append(b, "}}"...), nil
}

func (s *Server) mintBetaSession(top []member, now time.Time) ([]byte, *apiError) {
	model, e := s.model(top, "model", "model", defaultBetaModel)
	if e != nil {
		return nil, e
	}
	cs, _, e := objectAt(top, "client_secret", "client_secret")
	if e != nil {
		return nil, e
	}
	exp, e := s.expiresAt(cs, "expires_after", "client_secret.expires_after", now)
	if e != nil {
		return nil, e
	}
	b := make([]byte, 0, 1024+sizeOf(top))
	b = append(b, `{"id":`...)
	b = appendID(b, "sess_")
	b = append(b, `,"object":"realtime.session","model":`...)
	b = append(b, model...)
	b = appendMembers(b, top, betaReserved)
	b = appendDefaults(b, top, betaSessionDefaults)
	return s.appendClientSecret(b, exp), nil
}

func (s *Server) mintBetaTranscription(top []member, now time.Time) ([]byte, *apiError) {
	tr, _, e := objectAt(top, "input_audio_transcription", "input_audio_transcription")
	if e != nil {
		return nil, e
	}
	if _, _, _, e := stringAt(tr, "model", "input_audio_transcription.model"); e != nil {
		return nil, e
	}
	cs, _, e := objectAt(top, "client_secret", "client_secret")
	if e != nil {
		return nil, e
	}
	exp, e := s.expiresAt(cs, "expires_at", "client_secret.expires_at", now)
	if e != nil {
		return nil, e
	}
	b := make([]byte, 0, 512+sizeOf(top))
	b = append(b, `{"id":`...)
	b = appendID(b, "sess_")
	b = append(b, `,"object":"realtime.transcription_session"`...)
	b = appendMembers(b, top, transcriptReserved)
	b = appendDefaults(b, top, betaTranscriptionDefaults)
	return s.appendClientSecret(b, exp), nil
}

// beginGA starts a GA answer: value, expires_at and the opening of session.
func (s *Server) beginGA(exp int64, sess []member) []byte {
	b := make([]byte, 0, 1024+sizeOf(sess))
	b = append(b, `{"value":`...)
	b = s.appendSecret(b)
	b = append(b, `,"expires_at":`...)
	b = strconv.AppendInt(b, exp, 10)
	return append(b, `,"session":{`...)
}

// appendClientSecret ends a beta answer with its client_secret.
func (s *Server) appendClientSecret(b []byte, exp int64) []byte {
	b = append(b, `,"client_secret":{"value":`...)
	b = s.appendSecret(b)
	b = append(b, `,"expires_at":`...)
	b = strconv.AppendInt(b, exp, 10)
	return append(b, "}}"...)
}

// model reads the model at key of ms: the raw JSON string to echo, or def
// when absent ("" = required).
func (s *Server) model(ms []member, key, param, def string) ([]byte, *apiError) {
	raw, name, ok, e := stringAt(ms, key, param)
	if e != nil {
		return nil, e
	}
	if !ok {
		if def == "" {
			return nil, missing(param)
		}
		raw = []byte(def)
		name = def[1 : len(def)-1]
	}
	if s.models != nil {
		if _, known := s.models[name]; !known {
			return nil, invalidValue(param, name, s.allowed)
		}
	}
	return raw, nil
}

// transcriptionModel checks the types along audio.input.transcription.model
// of a GA transcription session; every part is optional.
func transcriptionModel(sess []member, key, param string) *apiError {
	audio, ok, e := objectAt(sess, key, param)
	if !ok {
		return e
	}
	input, ok, e := objectAt(audio, "input", param+".input")
	if !ok {
		return e
	}
	tr, ok, e := objectAt(input, "transcription", param+".input.transcription")
	if !ok {
		return e
	}
	_, _, _, e = stringAt(tr, "model", param+".input.transcription.model")
	return e
}

// expiresAt reads the lifetime object at key of ms ({"anchor":"created_at",
// "seconds":N}) and returns the unix expiry it asks for, or now plus the
// default TTL when there is none.
func (s *Server) expiresAt(ms []member, key, param string, now time.Time) (int64, *apiError) {
	obj, present, e := objectAt(ms, key, param)
	if e != nil {
		return 0, e
	}
	if present {
		if _, anchor, ok, e := stringAt(obj, "anchor", param+".anchor"); e != nil {
			return 0, e
		} else if ok && anchor != "created_at" {
			return 0, invalidValue(param+".anchor", anchor, "'created_at'")
		}
		if v := get(obj, "seconds"); v != nil {
			p := param + ".seconds"
			if kindOf(v) != "an integer" {
				return 0, invalidType(p, "an integer", v)
			}
			n, err := strconv.ParseInt(string(v), 10, 64) // fails only out of range
			switch {
			case err != nil && v[0] == '-', err == nil && n < MinTTLSeconds:
				return 0, belowMin(p, string(v))
			case err != nil, n > MaxTTLSeconds:
				return 0, aboveMax(p, string(v))
			}
			return now.Unix() + n, nil
		}
	}
	return now.Add(s.ttl).Unix(), nil
}

func belowMin(param, got string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "integer_below_min_value",
		message: "Invalid '" + param + "': integer below minimum value. Expected a value >= " +
			strconv.Itoa(MinTTLSeconds) + ", but got " + got + " instead."}
}

func aboveMax(param, got string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "integer_above_max_value",
		message: "Invalid '" + param + "': integer above maximum value. Expected a value <= " +
			strconv.Itoa(MaxTTLSeconds) + ", but got " + got + " instead."}
}

// sizeOf estimates the bytes the members take, to size an answer buffer.
func sizeOf(ms []member) int {
	n := 0
	for _, m := range ms {
		n += len(m.rawKey) + len(m.value) + 2
	}
	return n
}

// appendID appends prefix and 24 random hex characters as a JSON string.
// Secrets are made by appendSecret.
func appendID(b []byte, prefix string) []byte {
	b = append(b, '"')
	b = appendRawID(b, prefix)
	return append(b, '"')
}

// appendRawID appends prefix and 24 random hex characters.
func appendRawID(b []byte, prefix string) []byte {
	var raw [12]byte
	randomBytes(raw[:])
	b = append(b, prefix...)
	return hex.AppendEncode(b, raw[:])
}

// randomBytes fills p from crypto/rand, which cannot fail on supported
// platforms (it aborts the program instead).
func randomBytes(p []byte) {
	_, _ = rand.Read(p)
}
