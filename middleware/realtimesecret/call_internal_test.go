package realtimesecret

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// fuzzModel is the model the broker fuzz targets rewrite to.
const fuzzModel = "fuzz-model"

// realOffer returns testdata/offer.sdp at the repository root: an offer
// headless Chromium made for an audio transceiver and a data channel, as
// the demo page does.
func realOffer(f *testing.F) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "offer.sdp"))
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}

// seedCall writes a multipart call body the way browsers and the SDKs do.
func seedCall(boundary string, parts ...[2]string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		panic(err)
	}
	for _, p := range parts {
		h := map[string][]string{"Content-Disposition": {`form-data; name="` + p[0] + `"`}}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(p[1]))
	}
	_ = w.Close()
	return b.Bytes()
}

// FuzzCallMultipart checks the call parser on any body and boundary: it
// never panics and refuses with 400 or 413; what it accepts has an offer
// that starts with v=0 and is UTF-8; and the multipart body built for the
// upstream parses back, with mime/multipart, into exactly the parts sdp
// (the client's bytes) and session (the client's bytes with the model
// rewritten), in that order.
func FuzzCallMultipart(f *testing.F) {
	offer := realOffer(f)
	lfOffer := strings.ReplaceAll(offer, "\r\n", "\n")
	const session = `{"type":"realtime","model":"openai/gpt-realtime","instructions":"Say hi.","audio":{"output":{"voice":"marin"}}}`
	for _, seed := range []struct {
		boundary string
		body     []byte
	}{
		{"----WebKitFormBoundary7MA4YWxkTrZu0gW", seedCall("----WebKitFormBoundary7MA4YWxkTrZu0gW", [2]string{"sdp", offer}, [2]string{"session", session})},
		{"formdata-undici-0123456789", seedCall("formdata-undici-0123456789", [2]string{"sdp", offer})},
		{"b", seedCall("b", [2]string{"session", session}, [2]string{"sdp", lfOffer})},
		{"b", seedCall("b", [2]string{"sdp", offer}, [2]string{"session", `{"model":"a","mod\u0065l":"b"}`})},
		{"b", seedCall("b", [2]string{"sdp", offer}, [2]string{"sdp", offer})},
		{"b", seedCall("b", [2]string{"sdp", "v=0\r\n"}, [2]string{"session", `{}`})},
		{"b", []byte("--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Transfer-Encoding: base64\r\n\r\ndj0wDQo=\r\n--b--\r\n")},
		{"b", []byte("--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nv=0\r\n\r\n--b--")},
		{"b", []byte("--b\nContent-Disposition: form-data; name=sdp\n\nv=0\n\n--b--\n")},
		{"", []byte("v=0\r\n")},
	} {
		f.Add(seed.body, seed.boundary)
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		var o callOffer
		var b mintBody
		if e := parseCall(body, boundary, &o, &b); e != nil {
			if e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d: %s", e.Status, e.Message)
			}
			return
		}
		if !bytes.HasPrefix(o.sdp, []byte("v=0\r\n")) && !bytes.HasPrefix(o.sdp, []byte("v=0\n")) {
			t.Fatalf("accepted an offer that does not start with v=0: %q", o.sdp)
		}
		if !utf8.Valid(o.sdp) || len(o.sdp) > maxOfferBytes {
			t.Fatalf("accepted an offer of %d bytes, UTF-8 %v", len(o.sdp), utf8.Valid(o.sdp))
		}

		req := sessionRequest(contract.EndpointCall, &Key{}, &b, &o, fuzzModel)
		names, parts := readBack(t, req)
		wantNames := []string{"sdp"}
		if o.session != nil {
			wantNames = append(wantNames, "session")
		}
		if !reflect.DeepEqual(names, wantNames) {
			t.Fatalf("parts %q sent upstream, want %q", names, wantNames)
		}
		if !bytes.Equal(parts["sdp"], o.sdp) {
			t.Fatalf("the offer changed on the way upstream:\n in %q\nout %q", o.sdp, parts["sdp"])
		}
		if o.session == nil {
			return
		}
		want := o.session
		if b.modelAt.Found() {
			v := b.modelAt.Value
			want = append(append(append([]byte(nil), o.session[:v.Start]...), `"`+fuzzModel+`"`...), o.session[v.End:]...)
		}
		if !bytes.Equal(parts["session"], want) {
			t.Fatalf("bytes other than the model changed in the session:\n in %q\nout %q", o.session, parts["session"])
		}
		var again mintBody
		if e := parseBody(parts["session"], contract.EndpointCall, &again); e != nil {
			t.Fatalf("the session sent upstream does not parse: %q: %v", parts["session"], e)
		}
		if b.modelAt.Found() != again.modelAt.Found() || (b.modelAt.Found() && again.model != fuzzModel) {
			t.Fatalf("model %q upstream, want %q", again.model, fuzzModel)
		}
	})
}

// readBack parses the multipart body of req with mime/multipart, as the
// upstream does, and returns its part names in order and their contents.
func readBack(t *testing.T, req *contract.SessionRequest) ([]string, map[string][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(req.ContentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q upstream: %v", req.ContentType, err)
	}
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	var names []string
	parts := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return names, parts
		}
		if err != nil {
			t.Fatalf("the body sent upstream is not multipart: %v\n%q", err, req.Body)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %q: %v", p.FormName(), err)
		}
		names = append(names, p.FormName())
		parts[p.FormName()] = data
	}
}
