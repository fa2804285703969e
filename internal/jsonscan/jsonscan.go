// Package jsonscan finds members of JSON objects by byte offset and splices
// new values into a document, so that a request body can be rewritten in a
// few places while every other byte is forwarded as the client sent it.
//
// Every function expects a document that already passed Valid (the
// middleware validates every body first); on other input the results are
// unspecified and it may panic. Valid itself accepts any bytes.
package jsonscan

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"slices"
)

// ErrDuplicateKey is returned by Members when a wanted name occurs twice in
// one object.
var ErrDuplicateKey = errors.New("jsonscan: duplicate key")

// Span is a half-open byte range [Start, End) of a document.
type Span struct{ Start, End int }

// Member is where one object member sits: its key (quotes included) and its
// value. A zero Member (Value.End == 0) means absent.
type Member struct {
	KeyStart int
	Value    Span
}

// Found reports whether the member was present.
func (m Member) Found() bool { return m.Value.End > 0 }

// Root returns the span of the top-level value, without surrounding space.
func Root(doc []byte) Span {
	// A valid document is one value between spaces, so trimming them finds
	// its end without scanning the value, which Members does anyway.
	start, end := skipSpace(doc, 0), len(doc)
	for end > start && isSpace(doc[end-1]) {
		end--
	}
	return Span{start, end}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// IsObject reports whether s holds an object.
func IsObject(doc []byte, s Span) bool { return s.End > s.Start && doc[s.Start] == '{' }

// IsString reports whether s holds a string.
func IsString(doc []byte, s Span) bool { return s.End > s.Start && doc[s.Start] == '"' }

// IsNull reports whether s holds null.
func IsNull(doc []byte, s Span) bool { return string(doc[s.Start:s.End]) == "null" }

// Members scans the object at obj and stores in out[i] where the member
// named names[i] is (zero when absent). A name that occurs twice returns
// ErrDuplicateKey: two JSON parsers may keep different copies of it. Keys
// are compared after unescaping, so "mod\u0065l" counts as "model".
// It allocates nothing unless a key holds an escape.
func Members(doc []byte, obj Span, names []string, out []Member) error {
	clear(out)
	i := skipSpace(doc, obj.Start+1)
	for i < obj.End && doc[i] != '}' {
		keyStart := i
		keyEnd := skipString(doc, i)
		v := skipSpace(doc, skipSpace(doc, keyEnd)+1) // past ':'
		vEnd := skipValue(doc, v)
		if idx := indexOf(names, doc[keyStart:keyEnd]); idx >= 0 {
			if out[idx].Found() {
				return ErrDuplicateKey
			}
			out[idx] = Member{KeyStart: keyStart, Value: Span{v, vEnd}}
		}
		i = skipSpace(doc, vEnd)
		if i < obj.End && doc[i] == ',' {
			i = skipSpace(doc, i+1)
		}
	}
	return nil
}

// IsEmptyObject reports whether the object at obj has no members.
func IsEmptyObject(doc []byte, obj Span) bool {
	return doc[skipSpace(doc, obj.Start+1)] == '}'
}

// indexOf returns the index in names of the quoted JSON key, or -1.
func indexOf(names []string, quoted []byte) int {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		for i, n := range names {
			if string(raw) == n {
				return i
			}
		}
		return -1
	}
	var key string
	if json.Unmarshal(quoted, &key) != nil {
		return -1
	}
	for i, n := range names {
		if key == n {
			return i
		}
	}
	return -1
}

// String decodes the string at s.
func String(doc []byte, s Span) (string, bool) {
	if !IsString(doc, s) {
		return "", false
	}
	raw := doc[s.Start+1 : s.End-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	var v string
	if json.Unmarshal(doc[s.Start:s.End], &v) != nil {
		return "", false
	}
	return v, true
}

// MemberSpan returns the span to delete to remove member m of the object at
// obj, including one separating comma, so the object stays valid.
func MemberSpan(doc []byte, obj Span, m Member) Span {
	start, end := m.KeyStart, m.Value.End
	after := skipSpace(doc, end)
	if after < obj.End && doc[after] == ',' {
		return Span{start, skipSpace(doc, after+1)}
	}
	// Last member: take the comma before it, if any.
	for j := start - 1; j > obj.Start; j-- {
		switch doc[j] {
		case ' ', '\t', '\r', '\n':
			continue
		case ',':
			return Span{j, after}
		}
		break
	}
	return Span{start, after}
}

// Edit replaces the bytes of Span with Text; Start == End inserts.
type Edit struct {
	Span
	Text []byte
}

// Apply returns doc with the edits made. Edits must not overlap; inserts at
// the same offset keep their order.
func Apply(doc []byte, edits []Edit) []byte {
	// slices, not sort: sort.SliceStable's reflection and closure allocated
	// on every mint.
	slices.SortStableFunc(edits, func(a, b Edit) int {
		if a.Start != b.Start {
			return cmp.Compare(a.Start, b.Start)
		}
		return cmp.Compare(a.End, b.End)
	})
	n := len(doc)
	for _, e := range edits {
		n += len(e.Text) - (e.End - e.Start)
	}
	out := make([]byte, 0, n)
	at := 0
	for _, e := range edits {
		out = append(out, doc[at:e.Start]...)
		out = append(out, e.Text...)
		at = e.End
	}
	return append(out, doc[at:]...)
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset just past the string starting at i.
func skipString(doc []byte, i int) int {
	for i++; i < len(doc); {
		q := bytes.IndexByte(doc[i:], '"') // vectorized, unlike a byte loop
		if q < 0 {
			break
		}
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		end, k := i+q, i+q
		for k > i && doc[k-1] == '\\' {
			k--
		}
		if (end-k)%2 == 0 {
			return end + 1
		}
		i = end + 1
	}
	return len(doc)
}

// skipValue returns the offset just past the value starting at i. It is
// iterative, so nesting depth costs no stack.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return len(doc)
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for i < len(doc) {
			switch doc[i] {
			case '"':
				i = skipString(doc, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(doc)
	}
	for i < len(doc) {
		switch doc[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// AppendString appends s to dst as a JSON string. Bytes of s are kept as
// they are except quotes, backslashes and control characters, which are
// escaped.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
