package realtimesecret

import (
	"bytes"
	"errors"
	"mime"
	"strings"
)

// maxPartHeaderBytes caps the header lines of one form part. A browser's
// are under 200 bytes.
const maxPartHeaderBytes = 8 << 10

var errMalformedForm = errors.New("realtimesecret: malformed multipart/form-data")

// formReader cuts a multipart/form-data body (RFC 7578, RFC 2046 5.1) into
// its parts in place: a part's content is a subslice of the body, so a
// call's offer is neither copied nor decoded. It is strict where
// mime/multipart is lenient (CRLF line ends only, no folded or repeated
// Content-Disposition): whatever it reads, mime/multipart reads the same
// (FuzzFormReader), and it costs a call a few allocations instead of
// mime/multipart's buffers.
type formReader struct {
	body []byte
	dash string // "--" + boundary
	pos  int    // just past the last delimiter; -1 before the first
}

// formPart is one part of a form.
type formPart struct {
	name     string // the Content-Disposition form-data name
	encoding string // the Content-Transfer-Encoding, "" when absent
	content  []byte
}

func newFormReader(body []byte, boundary string) *formReader {
	return &formReader{body: body, dash: "--" + boundary, pos: -1}
}

// next returns the next part; done is true after the close delimiter.
func (r *formReader) next() (p formPart, done bool, err error) {
	if r.pos < 0 {
		// The first delimiter opens the body, or a line of it after a
		// preamble (whose lines may end in LF alone, as mime/multipart
		// reads them).
		at := 0
		for !r.delimiterAt(at) {
			nl := bytes.IndexByte(r.body[at:], '\n')
			if nl < 0 {
				return formPart{}, false, errMalformedForm
			}
			at += nl + 1
		}
		r.pos = at + len(r.dash)
	}
	rest := r.body[r.pos:]
	if bytes.HasPrefix(rest, []byte("--")) {
		// The close delimiter ends its line (the epilogue is ignored), as
		// mime/multipart wants it to.
		if tail := bytes.TrimLeft(rest[2:], " \t"); len(tail) > 0 && !bytes.HasPrefix(tail, []byte("\r\n")) {
			return formPart{}, false, errMalformedForm
		}
		return formPart{}, true, nil
	}
	i := len(rest) - len(bytes.TrimLeft(rest, " \t"))
	if !bytes.HasPrefix(rest[i:], []byte("\r\n")) {
		return formPart{}, false, errMalformedForm
	}
	at := r.pos + i + len("\r\n")
	if at, err = r.readHeader(at, &p); err != nil {
		return formPart{}, false, err
	}
	end := r.findDelimiter(at)
	if end < 0 {
		return formPart{}, false, errMalformedForm
	}
	p.content = r.body[at:end]
	r.pos = end + len("\r\n") + len(r.dash)
	return p, false, nil
}

// readHeader reads the header lines of a part from at up to the empty
// line, and returns where the content starts.
func (r *formReader) readHeader(at int, p *formPart) (int, error) {
	start, disposition := at, false
	for {
		eol := bytes.Index(r.body[at:], []byte("\r\n"))
		if eol < 0 || at+eol-start > maxPartHeaderBytes {
			return 0, errMalformedForm
		}
		line := r.body[at : at+eol]
		at += eol + len("\r\n")
		if len(line) == 0 {
			if !disposition {
				return 0, errMalformedForm
			}
			return at, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 1 || !validName(string(line[:colon])) || !validHeaderValue(line[colon+1:]) {
			return 0, errMalformedForm // a folded line, a bad name or a control byte
		}
		name := string(line[:colon])
		value := string(bytes.TrimSpace(line[colon+1:]))
		switch {
		case strings.EqualFold(name, "Content-Disposition"):
			if disposition {
				return 0, errMalformedForm
			}
			disposition = true
			d, params, err := mime.ParseMediaType(value)
			if err != nil || d != "form-data" {
				return 0, errMalformedForm
			}
			p.name = params["name"]
		case strings.EqualFold(name, "Content-Transfer-Encoding"):
			if p.encoding != "" {
				return 0, errMalformedForm
			}
			p.encoding = value
		}
	}
}

// validHeaderValue reports whether v holds no control byte but tab, as
// net/textproto requires of a header value.
func validHeaderValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// delimiterAt reports whether a dash-boundary at i ends the content
// before it: it does when "--" (the close delimiter), a space, a tab or a
// line end follows, as mime/multipart decides; next then requires the
// padding to end in CRLF.
func (r *formReader) delimiterAt(i int) bool {
	if !bytes.HasPrefix(r.body[i:], []byte(r.dash)) {
		return false
	}
	rest := r.body[i+len(r.dash):]
	if len(rest) == 0 {
		return false
	}
	switch rest[0] {
	case ' ', '\t', '\r', '\n':
		return true
	case '-':
		return len(rest) > 1 && rest[1] == '-'
	}
	return false
}

// findDelimiter returns where the CRLF before the next delimiter from at
// starts, or -1.
func (r *formReader) findDelimiter(at int) int {
	for {
		i := bytes.Index(r.body[at:], []byte("\r\n"))
		if i < 0 {
			return -1
		}
		if r.delimiterAt(at + i + len("\r\n")) {
			return at + i
		}
		at += i + len("\r\n")
	}
}
