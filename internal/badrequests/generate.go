package badrequests

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// session opens a valid GA mint body; the size and nest generators complete it.
const session = `{"session":{"type":"realtime","model":"openai/gpt-realtime"},`

// Generate builds the bodies and header values too large or too regular to
// write out in cases.json. spec is "<kind> <n>" (or "repeat <text> <n>");
// the README lists the kinds.
func Generate(spec string) ([]byte, error) {
	f := strings.Fields(spec)
	if len(f) == 0 {
		return nil, fmt.Errorf("generator %q: empty", spec)
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		return nil, fmt.Errorf("generator %q: %w", spec, err)
	}
	if n < 0 { // strings.Repeat and bytes.Repeat would panic
		return nil, fmt.Errorf("generator %q: negative n", spec)
	}
	switch f[0] {
	case "size": // a valid mint body of exactly n bytes
		head, tail := session+`"pad":"`, `"}`
		if n <= len(head)+len(tail) {
			return nil, fmt.Errorf("generator %q: n must be more than %d, the body without padding", spec, len(head)+len(tail))
		}
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail), nil
	case "nest": // n nested arrays in a member the middleware does not read
		return []byte(session + `"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}"), nil
	case "nest_objects": // objects n deep, no model
		return nested(spec, `{"a":`, n)
	case "nest_sessions": // sessions n deep, no model
		return nested(spec, `{"session":`, n)
	case "call_sdp": // a multipart call body whose sdp part is n bytes
		head := "v=0\r\na=x-pad:"
		if n <= len(head)+2 {
			return nil, fmt.Errorf("generator %q: n must be more than %d", spec, len(head)+2)
		}
		sdp := head + strings.Repeat("x", n-len(head)-2) + "\r\n"
		return callBody(sdp, `{"type":"realtime","model":"openai/gpt-realtime"}`), nil
	case "open_arrays":
		return []byte(strings.Repeat("[", n)), nil
	case "repeat": // "repeat <text> <n>"
		if len(f) != 3 {
			return nil, fmt.Errorf("generator %q: want repeat <text> <n>", spec)
		}
		return bytes.Repeat([]byte(f[1]), n), nil
	}
	return nil, fmt.Errorf("generator %q: unknown kind %q", spec, f[0])
}

// nested is n objects, each opened by open, around an empty one.
func nested(spec, open string, n int) ([]byte, error) {
	if n < 1 {
		return nil, fmt.Errorf("generator %q: n must be at least 1", spec)
	}
	return []byte(strings.Repeat(open, n-1) + "{}" + strings.Repeat("}", n-1)), nil
}
