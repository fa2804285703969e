package realtimesecret

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// maxOfferBytes caps an SDP offer. A browser's offer with audio and a data
// channel is 3-6 KiB; 64 KiB leaves room for many candidates and codecs.
const maxOfferBytes = 64 << 10

// callOffer is a parsed call request: the offer and the session part.
type callOffer struct {
	sdp     []byte
	session []byte // nil when the request has no session part
}

// parseCall reads a multipart/form-data call body: exactly a part "sdp"
// and at most one part "session", each once. The session part is parsed
// into b as a session object. Parts are read raw (no transfer decoding),
// so the offer and the session are forwarded as the client sent them; they
// are subslices of body.
func parseCall(body []byte, boundary string, o *callOffer, b *mintBody) *Error {
	form := newFormReader(body, boundary)
	var seenSDP, seenSession bool
	for {
		part, done, err := form.next()
		if err != nil {
			return badRequest("the multipart/form-data body is malformed", "", "invalid_multipart")
		}
		if done {
			break
		}
		name := part.name
		var seen *bool
		limit := len(body)
		switch name {
		case "sdp":
			seen, limit = &seenSDP, maxOfferBytes
		case "session":
			seen = &seenSession
		default:
			return badRequest("unknown part "+quote(name)+": a call has the parts sdp and session only", name, "unknown_part")
		}
		if *seen {
			return badRequest("the part "+quote(name)+" is repeated", name, "duplicate_part")
		}
		*seen = true
		if cte := part.encoding; cte != "" && !strings.EqualFold(cte, "binary") &&
			!strings.EqualFold(cte, "8bit") && !strings.EqualFold(cte, "7bit") {
			return badRequest("Content-Transfer-Encoding "+quote(cte)+" is not supported in part "+quote(name), name, "invalid_multipart")
		}
		if len(part.content) > limit {
			return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Param: name, Code: "part_too_large",
				Message: "the part " + quote(name) + " is larger than " + strconv.Itoa(limit) + " bytes"}
		}
		if name == "sdp" {
			o.sdp = part.content
		} else {
			o.session = part.content
		}
	}
	if !seenSDP {
		return badRequest("the part sdp is required: the WebRTC SDP offer", "sdp", "missing_sdp")
	}
	if e := checkOffer(o.sdp, "sdp"); e != nil {
		return e
	}
	if o.session == nil {
		*b = mintBody{endpoint: contract.EndpointCall, modelParam: "session.model"}
		return nil
	}
	return parseBody(o.session, contract.EndpointCall, b)
}

// parseRawOffer reads an application/sdp call body: the offer alone, with
// no session (the provider's default model).
func parseRawOffer(body []byte, o *callOffer, b *mintBody) *Error {
	if len(body) > maxOfferBytes {
		return offerTooLarge("")
	}
	*o = callOffer{sdp: body}
	*b = mintBody{endpoint: contract.EndpointCall, modelParam: "session.model"}
	return checkOffer(body, "sdp")
}

// checkOffer checks that sdp looks like an SDP offer: UTF-8 text whose
// first line is "v=0" (RFC 8866 5.1). The provider parses the rest.
func checkOffer(sdp []byte, param string) *Error {
	switch {
	case len(sdp) == 0:
		return emptyOffer(param)
	case !utf8.Valid(sdp):
		return badRequest(param+" must be UTF-8 text", param, "invalid_sdp")
	case !bytes.HasPrefix(sdp, []byte("v=0\r\n")) && !bytes.HasPrefix(sdp, []byte("v=0\n")):
		return notAnOffer(param)
	}
	return nil
}

// offerTooLarge is the 413 of an SDP offer over maxOfferBytes; param is
// where it was, "" for a raw application/sdp body.
func offerTooLarge(param string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Param: param, Code: "part_too_large",
		Message: "the SDP offer is larger than " + strconv.Itoa(maxOfferBytes) + " bytes"}
}

func emptyOffer(param string) *Error {
	return badRequest(param+" is empty: send the WebRTC SDP offer", param, "invalid_sdp")
}

func notAnOffer(param string) *Error {
	return badRequest(param+" must be an SDP offer starting with the line v=0", param, "invalid_sdp")
}

// sessionRequest builds what is sent upstream to create a session: the
// offer and the session with the bare, alias-resolved model, every other
// byte as the client sent it. A raw offer goes as multipart too: upstream,
// a raw application/sdp body is for ephemeral keys only.
func sessionRequest(ep Endpoint, key *Key, b *mintBody, o *callOffer, model string) *contract.SessionRequest {
	req := &contract.SessionRequest{Endpoint: ep, Key: key}
	if ep == contract.EndpointLiveSession {
		req.ContentType, req.Body = "application/json", b.normalize(model, 0)
		return req
	}
	var session []byte
	if o.session != nil {
		session = b.normalize(model, 0)
	}
	req.ContentType, req.Body = multipartOffer(o.sdp, session)
	return req
}

// multipartOffer returns a multipart/form-data body with the part sdp and,
// when session is not nil, the part session.
func multipartOffer(sdp, session []byte) (contentType string, body []byte) {
	boundary := newBoundary(sdp, session)
	body = make([]byte, 0, len(sdp)+len(session)+4*len(boundary)+192)
	body = append(body, "--"...)
	body = append(body, boundary...)
	body = append(body, "\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Type: application/sdp\r\n\r\n"...)
	body = append(body, sdp...)
	if session != nil {
		body = append(body, "\r\n--"...)
		body = append(body, boundary...)
		body = append(body, "\r\nContent-Disposition: form-data; name=\"session\"\r\nContent-Type: application/json\r\n\r\n"...)
		body = append(body, session...)
	}
	body = append(body, "\r\n--"...)
	body = append(body, boundary...)
	body = append(body, "--\r\n"...)
	return "multipart/form-data; boundary=" + boundary, body
}

// boundaryPrefix starts every multipart boundary the middleware writes.
const boundaryPrefix = "realtimesecret-"

// newBoundary returns a random multipart boundary that occurs in none of
// the parts, so no part can end early.
func newBoundary(parts ...[]byte) string {
	var buf [len(boundaryPrefix) + 32]byte
	copy(buf[:], boundaryPrefix)
	for {
		var raw [16]byte
		_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+)
		hex.Encode(buf[len(boundaryPrefix):], raw[:])
		clash := false
		for _, p := range parts {
			clash = clash || bytes.Contains(p, buf[:])
		}
		if !clash {
			return string(buf[:])
		}
	}
}
