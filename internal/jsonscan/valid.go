package jsonscan

import (
	"encoding/binary"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit, kept so that Valid accepts
// exactly what json.Valid accepts.
const maxDepth = 10000

// Valid reports whether doc is exactly one JSON value in valid UTF-8.
// encoding/json accepts invalid UTF-8 in strings by replacing it, which would
// let two parsers read different model names, so it is refused here.
//
// It accepts what utf8.Valid(doc) && json.Valid(doc) accepts, nesting limit
// included, in one pass over doc without allocating (below 256 levels of
// nesting): json.Valid drives a state machine through a function call per
// byte, which made it most of the cost of reading a mint reply.
func Valid(doc []byte) bool {
	var small [4]uint64 // bit d: the container at depth d is an object
	stack := small[:]
	depth := 0
	i := skipSpace(doc, 0)
	for {
		// A value starts at i.
		if i >= len(doc) {
			return false
		}
		ok := true
		switch c := doc[i]; { //nolint:staticcheck // QF1002: the cases mix comparisons, a tagged switch reads worse
		case c == '{' || c == '[':
			if depth++; depth > maxDepth { // an empty one counts too
				return false
			}
			j := skipSpace(doc, i+1)
			if j < len(doc) && doc[j] == c+2 { // '}' is '{'+2, ']' is '['+2
				depth--
				i = j + 1
				break
			}
			if depth/64 >= len(stack) {
				stack = append(stack, 0)
			}
			bit := uint64(1) << (depth % 64)
			if c == '{' {
				stack[depth/64] |= bit
				if i, ok = memberKey(doc, j); !ok {
					return false
				}
			} else {
				stack[depth/64] &^= bit
				i = j
			}
			continue // to its first value
		case c == '"':
			i, ok = scanString(doc, i)
		case c == 't':
			i, ok = literal(doc, i, "true")
		case c == 'f':
			i, ok = literal(doc, i, "false")
		case c == 'n':
			i, ok = literal(doc, i, "null")
		default:
			i, ok = scanNumber(doc, i)
		}
		if !ok {
			return false
		}
		// After a value: close containers until one has a next value.
		for {
			i = skipSpace(doc, i)
			if depth == 0 {
				return i == len(doc)
			}
			if i >= len(doc) {
				return false
			}
			object := stack[depth/64]&(uint64(1)<<(depth%64)) != 0
			c := doc[i]
			if c == ',' {
				if object {
					if i, ok = memberKey(doc, skipSpace(doc, i+1)); !ok {
						return false
					}
				} else {
					i = skipSpace(doc, i+1)
				}
				break
			}
			if object && c != '}' || !object && c != ']' {
				return false
			}
			depth--
			i++
		}
	}
}

// memberKey scans `"key" :` at i and returns the offset of the value.
func memberKey(doc []byte, i int) (int, bool) {
	if i >= len(doc) || doc[i] != '"' {
		return 0, false
	}
	i, ok := scanString(doc, i)
	if !ok {
		return 0, false
	}
	i = skipSpace(doc, i)
	if i >= len(doc) || doc[i] != ':' {
		return 0, false
	}
	return skipSpace(doc, i+1), true
}

// plain marks the bytes a string holds as they are: not a quote, a
// backslash, a control character or the start of a multi-byte rune.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the string starting at the quote at i and returns
// the offset just past it.
func scanString(doc []byte, i int) (int, bool) {
	i++
	for {
		// Plain bytes eight at a time, then one at a time: an SDP offer in
		// a GPT-Live body is kilobytes of ASCII with an escape every line,
		// and the words are tried again only after a byte that is not
		// plain, so a short string costs one word more.
		for i+8 <= len(doc) && plainWord(binary.LittleEndian.Uint64(doc[i:])) {
			i += 8
		}
		for i < len(doc) && plain[doc[i]] {
			i++
		}
		if i >= len(doc) {
			return 0, false
		}
		switch c := doc[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(doc) {
				return 0, false
			}
			switch doc[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(doc) || !isHex(doc[i+2]) || !isHex(doc[i+3]) || !isHex(doc[i+4]) || !isHex(doc[i+5]) {
					return 0, false
				}
				i += 6
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		default:
			r, size := utf8.DecodeRune(doc[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false
			}
			i += size
		}
	}
}

// plainWord reports whether the eight bytes of w are all plain: ASCII, not
// a control character, a quote or a backslash. When they are, no byte of
// the subtractions borrows and no term has a high bit set; when one is
// not, no subtraction borrows below the lowest such byte, so that byte sets
// its high bit in a term (TestPlainWordOneByte, FuzzPlainWord).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return (w|(w-ones*0x20)|(quote-ones)|(backslash-ones))&highs == 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func literal(doc []byte, i int, lit string) (int, bool) {
	if len(doc)-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanNumber validates the number at i:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(doc []byte, i int) (int, bool) {
	if i < len(doc) && doc[i] == '-' {
		i++
	}
	switch {
	case i >= len(doc):
		return 0, false
	case doc[i] == '0':
		i++
	case '1' <= doc[i] && doc[i] <= '9':
		i = digits(doc, i+1)
	default:
		return 0, false
	}
	if i < len(doc) && doc[i] == '.' {
		j := digits(doc, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(doc) && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < len(doc) && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		j := digits(doc, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(doc []byte, i int) int {
	for i < len(doc) && '0' <= doc[i] && doc[i] <= '9' {
		i++
	}
	return i
}
