package realtimesecret

import (
	"net/http"
	"slices"
	"strings"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// A translation moves the members of one JSON shape to where another shape
// has them, both ways: a request from the beta shape to the GA shape, and
// the answer back. It is compiled once from a table of fields (beta.go);
// translating walks each object of the source once and writes the
// destination into one buffer.

// field is one row of a translation table.
type field struct {
	// beta and ga are the member's dotted paths in the two shapes. ga ""
	// means the GA API has no such member: a request that sends it is
	// refused. beta "" means the beta shape has none (a constant).
	beta, ga string
	// way is the direction the row is used in: both, the request only
	// (the beta expiry request, whose name the answer uses for the
	// expiry time) or the answer only (the session's id).
	way way
	// accepts are the JSON kinds a request may send.
	accepts kinds
	null    nullRule
	// constant, when set, is written at ga in every request.
	constant string
	// conv converts the value; nil copies its bytes.
	conv *converter
}

// converter rewrites a value between the two shapes. toGA appends the GA
// value of the request's beta value at v, or refuses it naming param;
// toBeta appends the beta value of the answer's GA value at v, and copies
// what it does not know.
type converter struct {
	toGA   func(dst, doc []byte, v jsonscan.Span, param string) ([]byte, *Error)
	toBeta func(dst, doc []byte, v jsonscan.Span) []byte
}

// way is the direction a row is used in.
type way uint8

const (
	bothWays way = iota
	requestOnly
	answerOnly
)

// kinds is a set of JSON kinds.
type kinds uint8

const (
	kindString  kinds = 1 << iota
	kindNumber        // any number
	kindInteger       // a number without a fraction or an exponent
	kindBool
	kindObject
	kindArray
)

// nullRule is what a request's null means for a member.
type nullRule uint8

const (
	nullRefused nullRule = iota // a type error
	nullCopied                  // sent as null: the member's "off"
	nullOmitted                 // as if absent: the provider's default
)

// kindOf returns the kinds of the value at v (an integer is a number too);
// 0 for null.
func kindOf(doc []byte, v jsonscan.Span) kinds {
	switch doc[v.Start] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return 0
	}
	for _, c := range doc[v.Start:v.End] {
		if c == '.' || c == 'e' || c == 'E' {
			return kindNumber
		}
	}
	return kindNumber | kindInteger
}

// describe names the kinds for an error message: "a string or an object".
func (k kinds) describe() string {
	var names []string
	for _, n := range []struct {
		k    kinds
		name string
	}{{kindString, "a string"}, {kindInteger, "an integer"}, {kindNumber, "a number"}, {kindBool, "a boolean"}, {kindObject, "an object"}, {kindArray, "an array"}} {
		if k&n.k != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " or ")
}

// maxFields bounds a table, so that a translation's values fit an array
// on the stack; maxDepth bounds a destination path.
const (
	maxFields = 32
	maxDepth  = 5
)

// node is an object of a source shape: the members a translation reads
// from it.
type node struct {
	index map[string]int // member name -> kids
	kids  []kid
	param string // its dotted path, for errors
}

type kid struct {
	field int   // the leaf's row; -1 when sub is set
	sub   *node // an object whose members move one by one
}

// direction is one way of a translation: where each row's value is read
// in the source and the order the destination is written in.
type direction struct {
	src   *node
	dst   [][]string // per row: the destination path; nil when not written
	order []int      // the rows written, grouped by destination object
	// strict refuses a source member the table does not name (a request);
	// an answer's other members are dropped. foreign names the members of
	// the other shape, for a clearer refusal of a mixed request.
	strict  bool
	foreign map[string]bool
}

// translation is a compiled table: a request from beta to GA and its
// answer from GA back to beta.
type translation struct {
	fields     []field
	requestWay direction
	answerWay  direction
	gaParams   [][2]string // GA path -> beta path, to rename an upstream error's param
}

// compileTranslation compiles a table. foreign are the GA member names a
// beta request must not mix in. It panics on a table it cannot translate
// with: tables are fixed at build time, and compiled when the package is
// loaded.
func compileTranslation(fields []field, foreign ...string) *translation {
	if len(fields) > maxFields {
		panic("realtimesecret: translation table over maxFields")
	}
	t := &translation{fields: fields}
	t.requestWay = compileDirection(fields, true, func(f *field) (string, string) {
		if f.way == answerOnly {
			return "", ""
		}
		return f.beta, f.ga
	})
	t.answerWay = compileDirection(fields, false, func(f *field) (string, string) {
		if f.way == requestOnly || f.constant != "" {
			return "", ""
		}
		return f.ga, f.beta
	})
	for i := range fields {
		f := &fields[i]
		switch {
		case f.way != answerOnly && f.beta != "" && f.accepts == 0:
			panic("realtimesecret: request row without accepted kinds: " + f.beta)
		case f.way != answerOnly && f.ga == "":
			t.requestWay.src.add(f.beta, i) // read only to be refused
		case f.way != answerOnly && f.beta != "":
			t.gaParams = append(t.gaParams, [2]string{f.ga, f.beta})
		}
	}
	t.requestWay.foreign = make(map[string]bool, len(foreign))
	for _, n := range foreign {
		t.requestWay.foreign[n] = true
	}
	return t
}

func compileDirection(fields []field, strict bool, paths func(*field) (src, dst string)) direction {
	d := direction{src: &node{index: map[string]int{}}, dst: make([][]string, len(fields)), strict: strict}
	rank := map[string]int{} // a destination object's first appearance
	keys := make([][]int, len(fields))
	for i := range fields {
		src, dst := paths(&fields[i])
		if dst == "" || (src == "" && fields[i].constant == "") {
			continue
		}
		if src != "" {
			d.src.add(src, i)
		}
		segs := strings.Split(dst, ".")
		if len(segs) > maxDepth {
			panic("realtimesecret: translation path over maxDepth: " + dst)
		}
		d.dst[i] = segs
		for j := range segs {
			prefix := strings.Join(segs[:j+1], ".")
			if _, ok := rank[prefix]; !ok {
				rank[prefix] = len(rank)
			}
			keys[i] = append(keys[i], rank[prefix])
		}
		d.order = append(d.order, i)
	}
	// Members of one destination object are written together, in the
	// order the table first names them.
	slices.SortStableFunc(d.order, func(a, b int) int { return slices.Compare(keys[a], keys[b]) })
	for i, a := range d.order {
		for _, b := range d.order[:i] {
			if slices.Equal(d.dst[a], d.dst[b]) {
				panic("realtimesecret: two rows write " + strings.Join(d.dst[a], "."))
			}
		}
	}
	return d
}

// add places row i at the dotted path below n.
func (n *node) add(path string, i int) {
	name, rest, inner := strings.Cut(path, ".")
	k, ok := n.index[name]
	if !ok {
		k = len(n.kids)
		n.index[name] = k
		n.kids = append(n.kids, kid{field: -1})
	}
	c := &n.kids[k]
	switch {
	case !inner && c.sub == nil && c.field < 0:
		c.field = i
	case inner && c.field < 0:
		if c.sub == nil {
			c.sub = &node{index: map[string]int{}, param: join(n.param, name)}
		}
		c.sub.add(rest, i)
	default:
		panic("realtimesecret: translation path used twice: " + path)
	}
}

// request translates a mint request onto the GA client secret endpoint;
// a nil translation leaves it as it is.
func (t *translation) request(req *contract.MintRequest) *Error {
	if t == nil {
		return nil
	}
	body, e := t.toGA(req.Body)
	if e != nil {
		return e
	}
	req.Endpoint, req.Body = contract.EndpointClientSecret, body
	return nil
}

// answer translates the reply to a translated request back: a 2xx one
// into the beta shape (502 when it cannot be read), an error's param to
// the beta path. A nil translation leaves it as it is.
func (t *translation) answer(resp *contract.Reply) *Error {
	switch {
	case t == nil:
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		resp.Body = t.errorParams(resp.Body)
		return nil
	}
	body, ok := t.toBeta(resp.Body)
	if !ok {
		return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider's GA answer could not be translated into the beta shape"}
	}
	resp.Body = body
	return nil
}

// toGA translates a beta request body, valid JSON holding an object (as
// admission leaves it), into the GA body. A member the GA API has no place
// for, a member the table does not know, a repeated member, a value of the
// wrong kind or one a converter does not know is refused with a 400 naming
// it.
func (t *translation) toGA(doc []byte) ([]byte, *Error) {
	var vals [maxFields]jsonscan.Span
	if e := t.requestWay.read(doc, t.requestWay.src, jsonscan.Root(doc), &vals); e != nil {
		return nil, e
	}
	w := emitter{buf: make([]byte, 0, len(doc)+96)}
	w.begin()
	for _, i := range t.requestWay.order {
		f := &t.fields[i]
		if f.constant != "" {
			w.member(t.requestWay.dst[i])
			w.buf = append(w.buf, f.constant...)
			continue
		}
		v := vals[i]
		if v.End == 0 {
			continue
		}
		k := kindOf(doc, v)
		switch {
		case k == 0 && f.null == nullOmitted:
			continue
		case k == 0 && f.null == nullCopied:
		case k&f.accepts == 0:
			return nil, badRequest(f.beta+" must be "+f.accepts.describe(), f.beta, "invalid_type")
		}
		w.member(t.requestWay.dst[i])
		if f.conv == nil || k == 0 {
			w.buf = append(w.buf, doc[v.Start:v.End]...)
			continue
		}
		var e *Error
		if w.buf, e = f.conv.toGA(w.buf, doc, v, f.beta); e != nil {
			return nil, e
		}
	}
	// Rows without a GA place were read only to be refused here, after the
	// checks of the others, so that the first error is the table's.
	for i := range t.fields {
		if f := &t.fields[i]; f.ga == "" && vals[i].End != 0 {
			return nil, badRequest(f.beta+" is not supported: the GA Realtime API, which this beta request is translated onto, has no equivalent",
				f.beta, "unsupported_parameter")
		}
	}
	return w.end(), nil
}

// toBeta translates a 2xx GA answer into the beta shape; ok is false when
// the answer is not one JSON object or repeats a member the table reads.
func (t *translation) toBeta(doc []byte) ([]byte, bool) {
	if !jsonscan.Valid(doc) || !jsonscan.IsObject(doc, jsonscan.Root(doc)) {
		return nil, false
	}
	var vals [maxFields]jsonscan.Span
	if t.answerWay.read(doc, t.answerWay.src, jsonscan.Root(doc), &vals) != nil {
		return nil, false
	}
	w := emitter{buf: make([]byte, 0, len(doc)+32)}
	w.begin()
	for _, i := range t.answerWay.order {
		v := vals[i]
		if v.End == 0 {
			continue
		}
		w.member(t.answerWay.dst[i])
		if c := t.fields[i].conv; c != nil {
			w.buf = c.toBeta(w.buf, doc, v)
		} else {
			w.buf = append(w.buf, doc[v.Start:v.End]...)
		}
	}
	return w.end(), true
}

// read stores in vals the value of each row n holds below the object at
// obj. Either way a repeated member is refused, and a member that holds
// members of its own must hold an object or null (absent).
func (d *direction) read(doc []byte, n *node, obj jsonscan.Span, vals *[maxFields]jsonscan.Span) *Error {
	var seen uint64
	it := jsonscan.Walk(doc, obj)
	for {
		key, v, ok := it.Next()
		if !ok {
			return nil
		}
		raw, escaped := jsonscan.Key(doc, key)
		k, known := n.index[string(raw)]
		if escaped {
			k, known = n.index[memberName(doc, key)]
		}
		if !known {
			if d.strict {
				return d.unknown(doc, key, n.param)
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return badRequest(orBody(n.param)+" repeats the member "+quote(memberName(doc, key)), n.param, "duplicate_key")
		}
		seen |= 1 << k
		c := &n.kids[k]
		if c.sub == nil {
			vals[c.field] = v
			continue
		}
		switch {
		case jsonscan.IsNull(doc, v):
		case !jsonscan.IsObject(doc, v):
			return badRequest(c.sub.param+" must be an object", c.sub.param, "invalid_type")
		default:
			if e := d.read(doc, c.sub, v, vals); e != nil {
				return e
			}
		}
	}
}

// unknown refuses a request member the table does not name.
func (d *direction) unknown(doc []byte, key jsonscan.Span, parent string) *Error {
	name := memberName(doc, key)
	param := join(parent, name)
	if parent == "" && d.foreign[name] {
		return badRequest(param+" is a member of the GA Realtime API, mixed into a beta request: send either shape, the GA one to "+
			"/v1/realtime/client_secrets", param, "mixed_api_shapes")
	}
	return badRequest("unknown parameter "+quote(param)+" in a beta request", param, "unknown_parameter")
}

func memberName(doc []byte, key jsonscan.Span) string {
	name, _ := jsonscan.String(doc, key)
	return name
}

func orBody(param string) string {
	if param == "" {
		return "the request body"
	}
	return param
}

// betaParam renames a GA param of an upstream error to the beta path it
// came from ("session.audio.output.voice" -> "voice", and below it:
// "session.tools[0].name" -> "tools[0].name").
func (t *translation) betaParam(param string) (string, bool) {
	for _, p := range t.gaParams {
		if rest, ok := strings.CutPrefix(param, p[0]); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return p[1] + rest, true
		}
	}
	return "", false
}

var (
	errorKey = []string{"error"}
	paramKey = []string{"param"}
)

// errorParams returns an upstream OpenAI-shaped error body with its
// error.param renamed to the beta path; other bodies as they are.
func (t *translation) errorParams(body []byte) []byte {
	if !jsonscan.Valid(body) || !jsonscan.IsObject(body, jsonscan.Root(body)) {
		return body
	}
	var e, p [1]jsonscan.Member
	if jsonscan.Members(body, jsonscan.Root(body), errorKey, e[:]) != nil || !e[0].Found() || !jsonscan.IsObject(body, e[0].Value) {
		return body
	}
	if jsonscan.Members(body, e[0].Value, paramKey, p[:]) != nil || !p[0].Found() {
		return body
	}
	param, ok := jsonscan.String(body, p[0].Value)
	if !ok {
		return body
	}
	beta, ok := t.betaParam(param)
	if !ok {
		return body
	}
	return jsonscan.Apply(body, []jsonscan.Edit{{Span: p[0].Value, Text: jsonscan.AppendString(nil, beta)}})
}

// emitter writes nested objects member by member, given each member's full
// path; the members of one object must come together.
type emitter struct {
	buf   []byte
	open  [maxDepth]string // the objects open below the root
	depth int
	first bool // the innermost open object has no member yet
}

func (w *emitter) begin() {
	w.buf = append(w.buf, '{')
	w.first = true
}

// member closes and opens objects up to path's parent and writes the key
// of its last name; the caller appends the value.
func (w *emitter) member(path []string) {
	parents := path[:len(path)-1]
	k := 0
	for k < w.depth && k < len(parents) && w.open[k] == parents[k] {
		k++
	}
	for w.depth > k {
		w.buf = append(w.buf, '}')
		w.depth--
		w.first = false
	}
	for ; k < len(parents); k++ {
		w.key(parents[k])
		w.buf = append(w.buf, '{')
		w.open[w.depth] = parents[k]
		w.depth++
		w.first = true
	}
	w.key(path[len(path)-1])
}

// key writes a separator when one is due and "name": (table names need no
// escaping).
func (w *emitter) key(name string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '"', ':')
}

func (w *emitter) end() []byte {
	for ; w.depth > 0; w.depth-- {
		w.buf = append(w.buf, '}')
	}
	return append(w.buf, '}')
}
