package realtimesecret

import (
	"errors"
	"strconv"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The members the middleware reads or rewrites. A visited object that
// repeats one of them is refused: two JSON parsers may keep different copies.
const (
	kModel = iota
	kSession
	kType
	kAudio
	kInput
	kTranscription
	kExpiresAfter
	kClientSecret
	kInputAudioTranscription
	kExpiresAt
	kSeconds
	nKeys
)

var readKeys = []string{
	kModel:                   "model",
	kSession:                 "session",
	kType:                    "type",
	kAudio:                   "audio",
	kInput:                   "input",
	kTranscription:           "transcription",
	kExpiresAfter:            "expires_after",
	kClientSecret:            "client_secret",
	kInputAudioTranscription: "input_audio_transcription",
	kExpiresAt:               "expires_at",
	kSeconds:                 "seconds",
}

// providerDefaultTTL is how long OpenAI keeps a client secret when the
// request names no expiry.
const providerDefaultTTL = 600

// object is one scanned JSON object with the members of readKeys it holds.
type object struct {
	span    jsonscan.Span
	members [nKeys]jsonscan.Member
	param   string // its path, for error.param
}

func (o *object) has(k int) bool { return o.members[k].Found() }

// mintBody is a parsed mint request body: where the model and the expiry
// were read, so normalize can rewrite exactly those bytes.
type mintBody struct {
	doc      []byte
	endpoint Endpoint
	root     object

	model      string          // as the client wrote it, maybe "provider/model"
	modelAt    jsonscan.Member // where it was read; absent when not given
	modelParam string          // its path, for errors
	topModel   bool            // GA: read from the top level, to move into session
	hasSession bool            // GA: the session object is present, in session
	session    object          // GA: the session object
	ttl        ttlLocation     // where the requested expiry is
	ttlBuf     [3]object       // the objects on the expiry path below the root
}

// A mintBody holds no pointer into itself, so that it stays on the stack of
// the request: a self-reference would move its 2 KB to the heap.

// ttlLocation is how far the expiry path (for example
// client_secret.expires_after.seconds) exists in the body.
type ttlLocation struct {
	path    []int // member keys from the root to the seconds
	depth   int   // how many objects on the path exist, root included
	nullAt  jsonscan.Member
	seconds jsonscan.Member
	value   float64 // requested seconds when seconds is found
	param   string
}

func (t *ttlLocation) requested() bool { return t.seconds.Found() }

// parseBody reads the model and expiry of a mint request body. optionalModel
// allows a body without a model (transcription on a provider-scoped route).
//
// The session part of a call (EndpointCall) is parsed as its own document:
// its root is the session object, and errors name it "session".
func parseBody(doc []byte, ep Endpoint, b *mintBody) *Error {
	*b = mintBody{doc: doc, endpoint: ep}
	rootParam, what := "", "the request body"
	if ep == contract.EndpointCall {
		rootParam, what = "session", "the session part"
	}
	if !jsonscan.Valid(doc) {
		return badRequest(what+" must be valid JSON in UTF-8", rootParam, "invalid_json")
	}
	root := jsonscan.Root(doc)
	if !jsonscan.IsObject(doc, root) {
		return badRequest(what+" must be a JSON object", rootParam, "invalid_json")
	}
	if e := b.scan(&b.root, root, rootParam); e != nil {
		return e
	}
	var e *Error
	switch ep {
	case contract.EndpointCall:
		if _, e = b.readModel(&b.root); e != nil {
			return e
		}
		b.modelParam = "session.model"
		return nil
	case contract.EndpointLiveSession:
		if e = b.parseTranslation(); e != nil { // session.model, required, as a translation's
			return e
		}
		return checkLiveTransport(b.doc, b.root.span)
	case contract.EndpointClientSecret:
		e = b.parseGA()
	case contract.EndpointTranslation:
		e = b.parseTranslation()
	case contract.EndpointSession:
		e = b.parseBetaSession()
	case contract.EndpointTranscriptionSession:
		e = b.parseBetaTranscription()
	}
	if e != nil {
		return e
	}
	return b.parseTTL()
}

func (b *mintBody) scan(o *object, span jsonscan.Span, param string) *Error {
	o.span, o.param = span, param
	if err := jsonscan.Members(b.doc, span, readKeys, o.members[:]); err != nil {
		if errors.Is(err, jsonscan.ErrDuplicateKey) {
			where := "the request body"
			if param != "" {
				where = param
			}
			if b.endpoint.IsSession() {
				return badRequest(where+" repeats a key that selects the model or session", param, "duplicate_key")
			}
			return badRequest(where+" repeats a key that selects the model, session or expiry", param, "duplicate_key")
		}
		return badRequest("the request body must be valid JSON", param, "invalid_json")
	}
	return nil
}

// child scans member k of parent into dst. It returns false when the member
// is absent or null, and an error when it is present but not an object.
func (b *mintBody) child(parent *object, k int, dst *object) (bool, *Error) {
	m := parent.members[k]
	param := join(parent.param, readKeys[k])
	if !m.Found() || jsonscan.IsNull(b.doc, m.Value) {
		return false, nil
	}
	if !jsonscan.IsObject(b.doc, m.Value) {
		return false, badRequest(param+" must be an object", param, "invalid_type")
	}
	return true, b.scan(dst, m.Value, param)
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// readModel takes the model from member kModel of o, if present.
func (b *mintBody) readModel(o *object) (bool, *Error) {
	m := o.members[kModel]
	if !m.Found() {
		return false, nil
	}
	param := join(o.param, "model")
	s, ok := jsonscan.String(b.doc, m.Value)
	if !ok {
		return false, badRequest(param+" must be a string", param, "invalid_type")
	}
	b.model, b.modelAt, b.modelParam = s, m, param
	return true, nil
}

func (b *mintBody) parseGA() *Error {
	ok, e := b.child(&b.root, kSession, &b.session)
	if e != nil {
		return e
	}
	if ok {
		b.hasSession = true
		if t := b.session.members[kType]; t.Found() {
			typ, isString := jsonscan.String(b.doc, t.Value)
			if !isString {
				return badRequest("session.type must be a string", "session.type", "invalid_type")
			}
			if typ == "transcription" {
				return b.parseGATranscription()
			}
		}
		if found, e := b.readModel(&b.session); found || e != nil {
			return e
		}
	}
	found, e := b.readModel(&b.root)
	if e != nil {
		return e
	}
	b.topModel = found
	if !found {
		return badRequest("session.model is required", "session.model", "missing_model")
	}
	return nil
}

// parseGATranscription reads session.audio.input.transcription.model; it may
// be absent (the provider's default transcription model).
func (b *mintBody) parseGATranscription() *Error {
	var audio, input, tr object
	for _, step := range []struct {
		parent *object
		k      int
		dst    *object
	}{{&b.session, kAudio, &audio}, {&audio, kInput, &input}, {&input, kTranscription, &tr}} {
		ok, e := b.child(step.parent, step.k, step.dst)
		if e != nil || !ok {
			b.modelParam = "session.audio.input.transcription.model"
			return e
		}
	}
	found, e := b.readModel(&tr)
	if !found && e == nil {
		b.modelParam = "session.audio.input.transcription.model"
	}
	return e
}

func (b *mintBody) parseTranslation() *Error {
	ok, e := b.child(&b.root, kSession, &b.session)
	if e != nil {
		return e
	}
	if ok {
		if found, e := b.readModel(&b.session); found || e != nil {
			return e
		}
	}
	return badRequest("session.model is required", "session.model", "missing_model")
}

func (b *mintBody) parseBetaSession() *Error {
	if found, e := b.readModel(&b.root); found || e != nil {
		return e
	}
	ok, e := b.child(&b.root, kSession, &b.session)
	if e != nil {
		return e
	}
	if ok {
		if found, e := b.readModel(&b.session); found || e != nil {
			return e
		}
	}
	return badRequest("model is required", "model", "missing_model")
}

func (b *mintBody) parseBetaTranscription() *Error {
	var tr object
	b.modelParam = "input_audio_transcription.model"
	ok, e := b.child(&b.root, kInputAudioTranscription, &tr)
	if e != nil || !ok {
		return e
	}
	_, e = b.readModel(&tr)
	return e
}

// ttlPaths is where each endpoint reads the requested lifetime.
var ttlPaths = [...][]int{
	contract.EndpointClientSecret:         {kExpiresAfter, kSeconds},
	contract.EndpointTranslation:          {kExpiresAfter, kSeconds},
	contract.EndpointSession:              {kClientSecret, kExpiresAfter, kSeconds},
	contract.EndpointTranscriptionSession: {kClientSecret, kExpiresAt, kSeconds},
}

func (b *mintBody) parseTTL() *Error {
	t := &b.ttl
	t.path = ttlPaths[b.endpoint]
	t.depth = 1
	parent := &b.root
	for i, k := range t.path {
		m := parent.members[k]
		if k == kSeconds {
			t.param = join(parent.param, "seconds")
			if !m.Found() {
				return nil
			}
			v, err := strconv.ParseFloat(string(b.doc[m.Value.Start:m.Value.End]), 64)
			if err != nil {
				return badRequest(t.param+" must be a number", t.param, "invalid_type")
			}
			t.seconds, t.value = m, v
			return nil
		}
		if m.Found() && jsonscan.IsNull(b.doc, m.Value) {
			t.nullAt = m
			return nil
		}
		dst := &b.ttlBuf[i]
		ok, e := b.child(parent, k, dst)
		if e != nil || !ok {
			return e
		}
		t.depth++
		parent = dst
	}
	return nil
}

// normalize returns the body to forward: the bare, alias-resolved model in
// the place it was read (GA: moved into session, with session.type
// defaulting to "realtime") and, when maxTTL > 0, the expiry clamped to it
// or injected when the request names none and maxTTL is below the provider
// default. Every other byte is the client's.
func (b *mintBody) normalize(model string, maxTTL int) []byte {
	edits := make([]jsonscan.Edit, 0, 4)
	quoted := jsonscan.AppendString(nil, model)
	switch {
	case !b.modelAt.Found():
		// The provider's default model: nothing to rewrite.
	case b.topModel && !b.hasSession:
		// {"model":"m",...} -> {"session":{"type":"realtime","model":"m"},...}
		text := append([]byte(`"session":{"type":"realtime","model":`), quoted...)
		edits = append(edits, jsonscan.Edit{
			Span: jsonscan.Span{Start: b.modelAt.KeyStart, End: b.modelAt.Value.End},
			Text: append(text, '}'),
		})
	case b.topModel:
		edits = append(edits, jsonscan.Edit{Span: jsonscan.MemberSpan(b.doc, b.root.span, b.modelAt)})
		edits = append(edits, b.insertSession(append([]byte(`"model":`), quoted...)))
	default:
		edits = append(edits, jsonscan.Edit{Span: b.modelAt.Value, Text: quoted})
	}
	if b.endpoint == contract.EndpointClientSecret && b.hasSession && !b.session.has(kType) && !b.topModel {
		edits = append(edits, b.insertSession(nil))
	}
	if e, ok := b.ttlEdit(maxTTL); ok {
		edits = append(edits, e)
	}
	return jsonscan.Apply(b.doc, edits)
}

// insertSession inserts members (and `"type":"realtime"` when the session has
// no type) at the start of the GA session object.
func (b *mintBody) insertSession(members []byte) jsonscan.Edit {
	var text []byte
	if !b.session.has(kType) {
		text = append(text, `"type":"realtime"`...)
	}
	if len(members) > 0 {
		if len(text) > 0 {
			text = append(text, ',')
		}
		text = append(text, members...)
	}
	return insertInto(b.doc, b.session.span, text)
}

// insertInto inserts members at the start of the object at obj.
func insertInto(doc []byte, obj jsonscan.Span, members []byte) jsonscan.Edit {
	if !jsonscan.IsEmptyObject(doc, obj) {
		members = append(members, ',')
	}
	at := obj.Start + 1
	return jsonscan.Edit{Span: jsonscan.Span{Start: at, End: at}, Text: members}
}

// ttlEdit returns the edit that applies maxTTL (seconds) to the expiry.
func (b *mintBody) ttlEdit(maxTTL int) (jsonscan.Edit, bool) {
	t := &b.ttl
	if maxTTL <= 0 {
		return jsonscan.Edit{}, false
	}
	if t.requested() {
		if t.value <= float64(maxTTL) {
			return jsonscan.Edit{}, false
		}
		return jsonscan.Edit{Span: t.seconds.Value, Text: strconv.AppendInt(nil, int64(maxTTL), 10)}, true
	}
	if maxTTL >= providerDefaultTTL {
		return jsonscan.Edit{}, false
	}
	// Build the missing tail of the path, innermost first.
	depth := t.depth
	value := strconv.AppendInt(nil, int64(maxTTL), 10)
	if depth < len(t.path) {
		// An expiry object is created: anchor it like the API reference does,
		// then wrap it in the objects between it and the first missing one.
		value = append(append([]byte(`{"anchor":"created_at","seconds":`), value...), '}')
		for j := len(t.path) - 2; j >= depth; j-- {
			value = append(append(append([]byte(`{"`), readKeys[t.path[j]]...), `":`...), value...)
			value = append(value, '}')
		}
	}
	missing := t.path[depth-1]
	if t.nullAt.Found() {
		return jsonscan.Edit{Span: t.nullAt.Value, Text: value}, true
	}
	member := append(append(append([]byte(`"`), readKeys[missing]...), `":`...), value...)
	return insertInto(b.doc, b.ttlObject(depth-1).span, member), true
}

// ttlObject returns object i of the expiry path, the root being 0.
func (b *mintBody) ttlObject(i int) *object {
	if i == 0 {
		return &b.root
	}
	return &b.ttlBuf[i-1]
}
