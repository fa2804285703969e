package upstream

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

var errTooLarge = errors.New("response body too large")

// readLimited reads r to EOF, or fails with errTooLarge once more than limit
// bytes arrive. hint, when it is a plausible length, sizes the buffer once.
func readLimited(r io.Reader, limit, hint int64) ([]byte, error) {
	if hint > limit {
		return nil, errTooLarge
	}
	size := int64(512)
	if hint >= 0 {
		size = hint + 1 // room to see EOF without growing
	}
	b := make([]byte, 0, min(size, limit+1))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := limit + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// decode undoes a Content-Encoding the transport left in place: it decodes
// gzip itself only when it asked for it, and a custom transport may not
// have. The decoded body is capped at limit too, so a small compressed
// reply cannot expand without bound. On success h no longer announces an
// encoding or a length.
func decode(h http.Header, raw []byte, limit int64) ([]byte, error) {
	ces := h.Values("Content-Encoding")
	if len(ces) == 0 {
		return raw, nil
	}
	ce := strings.TrimSpace(ces[0])
	switch {
	case len(ces) > 1 || strings.Contains(ce, ","):
		return nil, errors.New("unsupported content encoding")
	case ce == "" || strings.EqualFold(ce, "identity"):
		return raw, nil
	case !strings.EqualFold(ce, "gzip") && !strings.EqualFold(ce, "x-gzip"):
		return nil, errors.New("unsupported content encoding " + strconv.Quote(ce))
	}
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	if len(raw) == 0 {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	body, err := readLimited(zr, limit, min(int64(len(raw))*4, limit))
	if errors.Is(err, errTooLarge) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return errors.New("response body larger than " + strconv.FormatInt(limit, 10) + " bytes")
}
