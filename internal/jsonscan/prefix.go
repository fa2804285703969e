package jsonscan

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// StringHasPrefix reports whether the string at s, decoded, starts with
// prefix. It decodes only as much of the string as it compares, where
// String would decode all of it: a check of an SDP offer's first line
// read the whole multi-kilobyte offer through encoding/json.
func StringHasPrefix(doc []byte, s Span, prefix string) bool {
	if !IsString(doc, s) {
		return false
	}
	raw := doc[s.Start+1 : s.End-1]
	want := prefix
	var buf [utf8.UTFMax]byte
	for i := 0; prefix != ""; {
		if i >= len(raw) {
			return false
		}
		var dec []byte
		if raw[i] != '\\' {
			dec, i = raw[i:i+1], i+1
		} else {
			if i+1 >= len(raw) {
				return false
			}
			switch c := raw[i+1]; c {
			case '"', '\\', '/':
				dec = raw[i+1 : i+2]
			case 'b', 'f', 'n', 'r', 't':
				buf[0] = controlEscape(c)
				dec = buf[:1]
			case 'u':
				r, ok := hex4(raw, i+2)
				if !ok {
					return false
				}
				if utf16.IsSurrogate(r) {
					// Pairs and lone surrogates are rare; decode it all.
					full, ok := String(doc, s)
					return ok && strings.HasPrefix(full, want)
				}
				dec = buf[:utf8.EncodeRune(buf[:], r)]
				i += 4
			default:
				return false
			}
			i += 2
		}
		n := min(len(dec), len(prefix))
		if string(dec[:n]) != prefix[:n] {
			return false
		}
		prefix = prefix[n:]
	}
	return true
}

// controlEscape returns the byte a one-letter escape (\n) stands for.
func controlEscape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	}
	return '\t'
}

// hex4 reads the four hex digits of a \u escape at raw[at:].
func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
