package realtimesecret

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readForm returns every part formReader reads, or its error.
func readForm(body []byte, boundary string) ([]formPart, error) {
	r := newFormReader(body, boundary)
	var parts []formPart
	for {
		p, done, err := r.next()
		if err != nil {
			return nil, err
		}
		if done {
			return parts, nil
		}
		parts = append(parts, p)
	}
}

func TestFormReader(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		parts [][2]string // name, content
	}{
		{name: "two parts", body: "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n" +
			"--b\r\ncontent-disposition: form-data; name=session\r\n\r\n{}\r\n--b--\r\n",
			parts: [][2]string{{"sdp", "v=0\r\n"}, {"session", "{}"}}},
		{name: "preamble, padding and epilogue", body: "ignored\r\n--b  \t\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nx\r\n--b--\r\njunk",
			parts: [][2]string{{"sdp", "x"}}},
		{name: "a boundary look-alike inside the content", body: "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\na\r\n--bx\r\nc\r\n--b--",
			parts: [][2]string{{"sdp", "a\r\n--bx\r\nc"}}},
		{name: "empty form", body: "--b--\r\n", parts: nil},
		{name: "no delimiter", body: "v=0\r\n"},
		{name: "LF line ends", body: "--b\nContent-Disposition: form-data; name=\"sdp\"\n\nx\n--b--\n"},
		{name: "no close delimiter", body: "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nx"},
		{name: "no Content-Disposition", body: "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"},
		{name: "two Content-Dispositions", body: "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\nx\r\n--b--"},
		{name: "folded header", body: "--b\r\nContent-Disposition: form-data;\r\n name=\"sdp\"\r\n\r\nx\r\n--b--"},
		{name: "not form-data", body: "--b\r\nContent-Disposition: attachment; name=\"sdp\"\r\n\r\nx\r\n--b--"},
		{name: "garbage after the close delimiter", body: "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nx\r\n--b--junk"},
		{name: "garbage after the boundary", body: "--b x\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nx\r\n--b--"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := readForm([]byte(tc.body), "b")
			if tc.parts == nil && tc.name != "empty form" {
				require.ErrorIs(t, err, errMalformedForm)
				return
			}
			require.NoError(t, err)
			var got [][2]string
			for _, p := range parts {
				got = append(got, [2]string{p.name, string(p.content)})
			}
			assert.Equal(t, tc.parts, got)
		})
	}
}

// FuzzFormReader checks formReader against mime/multipart: whatever form
// formReader reads, mime/multipart reads as the same parts, with the same
// names and the same raw contents.
func FuzzFormReader(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\nv=0\r\n\r\n--b\r\nContent-Disposition: form-data; name=session\r\n\r\n{}\r\n--b--\r\n"), "b")
	f.Add([]byte("pre\r\n--b \r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\r\n--b-\r\n--b--"), "b")
	f.Add(seedCall("----WebKitFormBoundary7MA4YWxkTrZu0gW", [2]string{"sdp", "v=0\r\n"}, [2]string{"session", "{}"}), "----WebKitFormBoundary7MA4YWxkTrZu0gW")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		if boundary == "" {
			return
		}
		parts, err := readForm(body, boundary)
		if err != nil {
			return
		}
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		for i := 0; ; i++ {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				if i != len(parts) {
					t.Fatalf("mime/multipart read %d parts, formReader %d, of %q", i, len(parts), body)
				}
				return
			}
			if err != nil {
				t.Fatalf("mime/multipart refused %q after %d parts that formReader read: %v", body, i, err)
			}
			content, err := io.ReadAll(p)
			if err != nil {
				t.Fatalf("mime/multipart could not read part %d of %q: %v", i, body, err)
			}
			if i >= len(parts) || p.FormName() != parts[i].name || !bytes.Equal(content, parts[i].content) {
				t.Fatalf("part %d of %q: mime/multipart %q %q, formReader %v", i, body, p.FormName(), content, parts)
			}
		}
	})
}
