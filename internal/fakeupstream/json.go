package fakeupstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// member is one member of a JSON object: sub-slices of the document.
type member struct {
	rawKey  []byte // the key as written, quotes included
	name    string // the unescaped key, only when rawKey holds an escape
	escaped bool
	value   []byte // the value as written
}

// is reports whether the member's unescaped key is k.
func (m *member) is(k string) bool {
	if m.escaped {
		return m.name == k
	}
	return string(m.rawKey[1:len(m.rawKey)-1]) == k
}

// key returns the unescaped key.
func (m *member) key() string {
	if m.escaped {
		return m.name
	}
	return string(m.rawKey[1 : len(m.rawKey)-1])
}

var (
	errNotAnObject = errors.New("fakeupstream: not a JSON object")
	errTrailing    = errors.New("fakeupstream: data after the JSON object")
)

// objectMembers returns the members of doc, which must be one JSON object,
// in order. A repeated key keeps its first place and its last value, as
// encoding/json would read it. doc must have passed json.Valid (any value
// inside a valid document is valid too); the scan then allocates only the
// slice it returns, and the values share doc's memory.
func objectMembers(doc []byte) ([]member, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, errNotAnObject
	}
	ms := make([]member, 0, 16)
	i = skipSpace(doc, i+1)
	for i < len(doc) && doc[i] == '"' {
		ke := skipString(doc, i)
		m := member{rawKey: doc[i:ke]}
		if bytes.IndexByte(m.rawKey, '\\') >= 0 {
			if err := json.Unmarshal(m.rawKey, &m.name); err != nil {
				return nil, err
			}
			m.escaped = true
		}
		i = skipSpace(doc, skipSpace(doc, ke)+1) // past ':'
		ve := skipValue(doc, i)
		m.value = doc[i:ve]
		if j := sameKey(ms, &m); j >= 0 {
			ms[j].value = m.value
		} else {
			ms = append(ms, m)
		}
		i = skipSpace(doc, ve)
		if i < len(doc) && doc[i] == ',' {
			i = skipSpace(doc, i+1)
		}
	}
	if i >= len(doc) || doc[i] != '}' {
		return nil, errNotAnObject
	}
	if skipSpace(doc, i+1) != len(doc) {
		return nil, errTrailing
	}
	return ms, nil
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

// skipString returns the offset just past the string that starts at i.
func skipString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(doc)
}

// skipValue returns the offset just past the value that starts at i.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return i
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
		return i
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

// sameKey returns the index of the member of ms with m's key, or -1.
func sameKey(ms []member, m *member) int {
	for i := range ms {
		o := &ms[i]
		if !o.escaped && !m.escaped {
			if bytes.Equal(o.rawKey, m.rawKey) {
				return i
			}
		} else if o.key() == m.key() {
			return i
		}
	}
	return -1
}

// indexOf returns the index of the member named key, or -1.
func indexOf(ms []member, key string) int {
	for i := range ms {
		if ms[i].is(key) {
			return i
		}
	}
	return -1
}

// get returns the value of key in ms; null counts as absent.
func get(ms []member, key string) []byte {
	if i := indexOf(ms, key); i >= 0 && !isNull(ms[i].value) {
		return ms[i].value
	}
	return nil
}

func isNull(v []byte) bool { return string(v) == "null" }

// kindOf names the JSON type of v for error messages.
func kindOf(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(v, ".eE") {
		return "a decimal"
	}
	return "an integer"
}

// objectAt returns the members of the object at key ("param" in errors);
// present is false when the key is absent or null.
func objectAt(ms []member, key, param string) (sub []member, present bool, e *apiError) {
	v := get(ms, key)
	if v == nil {
		return nil, false, nil
	}
	if v[0] != '{' {
		return nil, false, invalidType(param, "an object", v)
	}
	sub, err := objectMembers(v)
	if err != nil { // cannot happen: v is part of a valid document
		return nil, false, errNotJSON
	}
	return sub, true, nil
}

// stringAt returns the string at key as raw JSON and decoded; present is
// false when the key is absent or null.
func stringAt(ms []member, key, param string) (raw []byte, s string, present bool, e *apiError) {
	v := get(ms, key)
	if v == nil {
		return nil, "", false, nil
	}
	if v[0] != '"' {
		return nil, "", false, invalidType(param, "a string", v)
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v, string(v[1 : len(v)-1]), true, nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, "", false, errNotJSON
	}
	return v, s, true, nil
}

// appendMembers appends ,"key":value for each member of ms not in skip.
func appendMembers(b []byte, ms []member, skip []string) []byte {
next:
	for i := range ms {
		m := &ms[i]
		for _, k := range skip {
			if m.is(k) {
				continue next
			}
		}
		b = append(b, ',')
		b = append(b, m.rawKey...)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return b
}

// appendDefaults appends the defaults whose key ms does not have.
func appendDefaults(b []byte, ms []member, defaults []fieldDefault) []byte {
	for _, d := range defaults {
		if indexOf(ms, d.key) < 0 {
			b = append(b, d.member...)
		}
	}
	return b
}

// fieldDefault is a session field OpenAI fills in when the request has none.
type fieldDefault struct {
	key    string
	member string // `,"key":value`
}

func defaults(pairs ...string) []fieldDefault {
	out := make([]fieldDefault, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, fieldDefault{key: pairs[i], member: "," + strconv.Quote(pairs[i]) + ":" + pairs[i+1]})
	}
	return out
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
