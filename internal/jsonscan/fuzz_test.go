package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// The fuzz targets of this file check jsonscan against encoding/json, the
// parser a client's other reader (the upstream) is assumed to be: whatever
// jsonscan finds, removes, replaces or inserts must be what encoding/json
// sees, and every splice must leave a valid document. Seeds beyond the f.Add
// ones live in testdata/fuzz/<FuzzName>/.

// pair is one object member as encoding/json reads it: the unescaped key and
// the value's bytes exactly as they are in the document.
type pair struct {
	key string
	raw string
}

// pairsOf returns the members of the object doc holds at its top level, in
// order and with duplicates, or ok=false when doc is not one valid object.
func pairsOf(doc []byte) ([]pair, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []pair
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		out = append(out, pair{key: key, raw: string(raw)})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data
	}
	return out, true
}

// wantedNames is what the middleware looks up, plus the fuzzed name.
func wantedNames(extra string) []string {
	names := []string{"model", "session", "type", "mod\u00e9l"}
	for _, n := range names {
		if n == extra {
			return names
		}
	}
	return append(names, extra)
}

var memberSeeds = []string{
	`{"model":"openai/gpt-realtime"}`,
	`{"session":{"type":"realtime","model":"m"},"model":"x"}`,
	` { "model" : "a" , "session" : { } } `,
	`{"mod\u0065l":"a","x":[1,{"model":2}],"y":"}{,\""}`,
	`{"model":"a","model":"b"}`,
	`{"a":1,"mod\u0065l":"b","model":"c"}`,
	`{"\ud800":1,"\ufffd":2}`,
	`{"type":null,"session":true,"model":-1.5e+300}`,
	`{"":"","x":{},"y":[]}`,
	`{"mod\u00e9l":"\u00e9","session":{"model":{"model":"deep"}}}`,
	"{\t\"model\"\r\n:\n\"a\"\n}",
	`{}`,
}

// FuzzMembers checks Members, MemberSpan, Apply and AppendString on valid
// JSON objects: every member Members reports is the one encoding/json reads
// (same key, same value bytes), a repeated wanted key is reported as
// ErrDuplicateKey, and removing, replacing or inserting a member with the
// spans jsonscan gives keeps the document valid and changes exactly that
// member. Nested objects are checked the same way, three levels deep.
func FuzzMembers(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s), "model", "gpt-realtime")
		f.Add([]byte(s), "x", "a \"quoted\" \\ value\u2028\x01")
	}
	f.Fuzz(func(t *testing.T, doc []byte, name, repl string) {
		if !jsonscan.Valid(doc) {
			return
		}
		root := jsonscan.Root(doc)
		if !jsonscan.IsObject(doc, root) {
			return
		}
		checkObject(t, doc, root, wantedNames(name), strings.ToValidUTF8(repl, ""), 3)
	})
}

func checkObject(t *testing.T, doc []byte, obj jsonscan.Span, names []string, repl string, depth int) {
	t.Helper()
	pairs, ok := pairsOf(doc[obj.Start:obj.End])
	if !ok {
		t.Fatalf("span %v of %q is not one object to encoding/json", obj, doc)
	}
	count := make(map[string]int)
	for _, p := range pairs {
		count[p.key]++
	}
	dup := false
	for _, n := range names {
		dup = dup || count[n] > 1
	}

	out := make([]jsonscan.Member, len(names))
	err := jsonscan.Members(doc, obj, names, out)
	if dup {
		if !errors.Is(err, jsonscan.ErrDuplicateKey) {
			t.Fatalf("a wanted key repeats in %q: err %v, want ErrDuplicateKey", doc[obj.Start:obj.End], err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Members(%q): %v", doc[obj.Start:obj.End], err)
	}
	if got := jsonscan.IsEmptyObject(doc, obj); got != (len(pairs) == 0) {
		t.Fatalf("IsEmptyObject(%q) = %v with %d members", doc[obj.Start:obj.End], got, len(pairs))
	}

	for i, n := range names {
		m := out[i]
		at := indexOfKey(pairs, n)
		if at < 0 {
			if m.Found() {
				t.Fatalf("%q reported in %q where encoding/json has none", n, doc[obj.Start:obj.End])
			}
			continue
		}
		if !m.Found() {
			t.Fatalf("%q not found in %q", n, doc[obj.Start:obj.End])
		}
		if got := string(doc[m.Value.Start:m.Value.End]); got != pairs[at].raw {
			t.Fatalf("%q: value %q, encoding/json reads %q", n, got, pairs[at].raw)
		}
		var key string
		if err := json.NewDecoder(bytes.NewReader(doc[m.KeyStart:])).Decode(&key); err != nil || key != n {
			t.Fatalf("%q: KeyStart %d points at %q (%v)", n, m.KeyStart, doc[m.KeyStart:], err)
		}
		if s, ok := jsonscan.String(doc, m.Value); ok {
			var want string
			if json.Unmarshal(doc[m.Value.Start:m.Value.End], &want) != nil || s != want {
				t.Fatalf("String(%q) = %q, encoding/json reads %q", doc[m.Value.Start:m.Value.End], s, want)
			}
		} else if jsonscan.IsString(doc, m.Value) {
			t.Fatalf("String(%q) failed on a string", doc[m.Value.Start:m.Value.End])
		}

		checkRemove(t, doc, obj, m, pairs, at)
		checkReplace(t, doc, obj, m, pairs, at, repl)
		if depth > 1 && jsonscan.IsObject(doc, m.Value) {
			checkObject(t, doc, m.Value, names, repl, depth-1)
		}
	}
	checkInsert(t, doc, obj, pairs)
}

func indexOfKey(pairs []pair, key string) int {
	for i, p := range pairs {
		if p.key == key {
			return i
		}
	}
	return -1
}

// spliced returns doc after the edits, and the object that was at obj in
// it, which the edits (all inside obj) moved by their length change.
func spliced(t *testing.T, doc []byte, obj jsonscan.Span, edits ...jsonscan.Edit) ([]byte, []pair) {
	t.Helper()
	delta := 0
	for _, e := range edits {
		delta += len(e.Text) - (e.End - e.Start)
	}
	out := jsonscan.Apply(doc, edits)
	if !jsonscan.Valid(out) {
		t.Fatalf("splice of %q made invalid JSON %q", doc, out)
	}
	pairs, ok := pairsOf(out[obj.Start : obj.End+delta])
	if !ok {
		t.Fatalf("splice of %q: %q is no longer one object", doc, out[obj.Start:obj.End+delta])
	}
	if string(out[:obj.Start]) != string(doc[:obj.Start]) || string(out[obj.End+delta:]) != string(doc[obj.End:]) {
		t.Fatalf("splice of %q changed bytes outside the object: %q", doc, out)
	}
	return out, pairs
}

func checkRemove(t *testing.T, doc []byte, obj jsonscan.Span, m jsonscan.Member, pairs []pair, at int) {
	t.Helper()
	span := jsonscan.MemberSpan(doc, obj, m)
	_, got := spliced(t, doc, obj, jsonscan.Edit{Span: span})
	want := append(append([]pair(nil), pairs[:at]...), pairs[at+1:]...)
	requirePairs(t, "remove", doc, got, want)
}

func checkReplace(t *testing.T, doc []byte, obj jsonscan.Span, m jsonscan.Member, pairs []pair, at int, repl string) {
	t.Helper()
	text := jsonscan.AppendString(nil, repl)
	out, got := spliced(t, doc, obj, jsonscan.Edit{Span: m.Value, Text: text})
	want := append([]pair(nil), pairs...)
	want[at].raw = string(text)
	requirePairs(t, "replace", doc, got, want)
	s, ok := jsonscan.String(out, jsonscan.Span{Start: m.Value.Start, End: m.Value.Start + len(text)})
	if !ok || s != repl {
		t.Fatalf("AppendString(%q) reads back as %q (%v)", repl, s, ok)
	}
}

func checkInsert(t *testing.T, doc []byte, obj jsonscan.Span, pairs []pair) {
	t.Helper()
	text := `"inserted":true`
	if !jsonscan.IsEmptyObject(doc, obj) {
		text += ","
	}
	at := obj.Start + 1
	_, got := spliced(t, doc, obj, jsonscan.Edit{Span: jsonscan.Span{Start: at, End: at}, Text: []byte(text)})
	requirePairs(t, "insert", doc, got, append([]pair{{key: "inserted", raw: "true"}}, pairs...))
}

func requirePairs(t *testing.T, what string, doc []byte, got, want []pair) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s in %q: %d members %q, want %d %q", what, doc, len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s in %q: member %d is %q, want %q", what, doc, i, got[i], want[i])
		}
	}
}

// FuzzApply checks Apply against a naive splice on any bytes: edits that do
// not overlap, given in any order, with inserts at one offset kept in order.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"model":"a"}`), uint16(9), uint16(12), uint16(13), uint16(13), []byte(`"b"`), []byte(`,"x":1`))
	f.Add([]byte(`{}`), uint16(1), uint16(1), uint16(1), uint16(1), []byte(`"a":1`), []byte(`,"b":2`))
	f.Add([]byte(``), uint16(0), uint16(0), uint16(0), uint16(0), []byte(`x`), []byte(`y`))
	f.Fuzz(func(t *testing.T, doc []byte, s1, e1, s2, e2 uint16, t1, t2 []byte) {
		n := len(doc) + 1
		a := jsonscan.Span{Start: int(s1) % n, End: int(e1) % n}
		b := jsonscan.Span{Start: int(s2) % n, End: int(e2) % n}
		if a.Start > a.End {
			a.Start, a.End = a.End, a.Start
		}
		if b.Start > b.End {
			b.Start, b.End = b.End, b.Start
		}
		// Put a first in document order; b must not overlap it. An insert at
		// a's end is allowed and goes after a.
		if b.Start < a.Start || (b.Start == a.Start && b.End < a.End) {
			a, b = b, a
			t1, t2 = t2, t1
		}
		if b.Start < a.End || (b.Start == a.Start && a.Start != a.End) {
			return
		}
		var want []byte
		want = append(want, doc[:a.Start]...)
		want = append(want, t1...)
		want = append(want, doc[a.End:b.Start]...)
		want = append(want, t2...)
		want = append(want, doc[b.End:]...)
		// Given in reverse: Apply sorts. Equal inserts must keep their
		// order, so those are given in order.
		edits := []jsonscan.Edit{{Span: b, Text: t2}, {Span: a, Text: t1}}
		if a == b {
			edits[0], edits[1] = edits[1], edits[0]
		}
		if got := jsonscan.Apply(doc, edits); !bytes.Equal(got, want) {
			t.Fatalf("Apply(%q, %v %q, %v %q) = %q, want %q", doc, a, t1, b, t2, got, want)
		}
	})
}

// FuzzScanAnyBytes calls every scanning function on any bytes, valid JSON
// or not: the package documents that results on invalid input are
// unspecified but that nothing panics.
func FuzzScanAnyBytes(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{`{"model":`, `{"model":"a`, `{"a":1,`, `{"a":{"b":`, `{` + "\x00", `"`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		valid := jsonscan.Valid(doc)
		defer func() {
			if p := recover(); p != nil {
				if !valid {
					return // documented: only Valid input is promised not to panic
				}
				t.Fatalf("panic on valid JSON %q: %v", doc, p)
			}
		}()
		scanAll(doc)
	})
}

// scanAll calls each scanning function the way the middleware chains them.
func scanAll(doc []byte) {
	root := jsonscan.Root(doc)
	_ = jsonscan.IsNull(doc, root)
	_, _ = jsonscan.String(doc, root)
	if !jsonscan.IsObject(doc, root) {
		return
	}
	_ = jsonscan.IsEmptyObject(doc, root)
	names := []string{"model", "session", "a"}
	out := make([]jsonscan.Member, len(names))
	if jsonscan.Members(doc, root, names, out) != nil {
		return
	}
	for _, m := range out {
		if !m.Found() {
			continue
		}
		_ = jsonscan.MemberSpan(doc, root, m)
		_, _ = jsonscan.String(doc, m.Value)
		if jsonscan.IsObject(doc, m.Value) {
			_ = jsonscan.IsEmptyObject(doc, m.Value)
			_ = jsonscan.Members(doc, m.Value, names, make([]jsonscan.Member, len(names)))
		}
	}
}

// FuzzStringHasPrefix checks that StringHasPrefix agrees with decoding the
// whole string, for the prefixes an SDP check uses and for the first bytes
// of the decoded string itself.
func FuzzStringHasPrefix(f *testing.F) {
	for _, seed := range []string{`"v=0\r\no=-"`, `"v=0\n"`, `"v=0\u000d\u000a"`, `"v=0\u000D\u000Ax"`, `"\ud83d\ude00v=0"`,
		`"v=\u0030\r\n"`, `"\"v=0"`, `""`, `"v=0"`, `"\u00e9t\u00e9"`, `"\ud800"`} {
		f.Add([]byte(seed), uint8(3))
	}
	f.Fuzz(func(t *testing.T, doc []byte, n uint8) {
		if !jsonscan.Valid(doc) {
			return
		}
		root := jsonscan.Root(doc)
		full, ok := jsonscan.String(doc, root)
		if !ok {
			if jsonscan.StringHasPrefix(doc, root, "v=0\n") {
				t.Fatalf("a prefix of %q, which is no string", doc)
			}
			return
		}
		prefixes := []string{"v=0\r\n", "v=0\n", "", full[:min(int(n), len(full))], full + "x"}
		for _, p := range prefixes {
			if want, got := strings.HasPrefix(full, p), jsonscan.StringHasPrefix(doc, root, p); got != want {
				t.Fatalf("StringHasPrefix(%q, %q) = %v, decoding all says %v", doc, p, got, want)
			}
		}
	})
}
