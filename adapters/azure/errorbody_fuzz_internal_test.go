package azure

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMapError feeds arbitrary upstream bytes to the error mapper: it must
// never panic and always produce the OpenAI error shape, within the caps,
// without the credential in any form a JSON parser would read back.
func FuzzMapError(f *testing.F) {
	const secret = "0123456789abcdefSECRET"
	for _, seed := range []string{
		``,
		`null`,
		`[]`,
		`"error"`,
		`<html>502</html>`,
		`{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`,
		`{"error":{"code":429,"message":"Rate limit"}}`,
		`{"error":{"message":"m","type":"invalid_request_error","param":"session.type","code":"invalid_value"}}`,
		`{"error":{"message":"filtered","innererror":{"code":"ResponsibleAIPolicyViolation"}}}`,
		`{"statusCode":401,"message":"Access token is missing or invalid."}`,
		`{"error":"plain"}`,
		`{"error":{"message":"key 0123456789abcdefSECRET"}}`,
		`{"error":{"message":"key \u0030123456789abcdefSECRET","type":"0123456789abcdefSECRET"}}`,
		`{"error":{"message":1e999,"code":1.5,"param":{}}}`,
		"{\"error\":{\"message\":\"\xff\xfe\"}}",
	} {
		f.Add(http.StatusBadRequest, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		out := mapError(status, body, secret)
		var got struct {
			Error *struct {
				Message *string `json:"message"`
				Type    *string `json:"type"`
				Param   *string `json:"param"`
				Code    *string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("not JSON: %v: %s", err, out)
		}
		e := got.Error
		if e == nil || e.Message == nil || *e.Message == "" || e.Type == nil || *e.Type == "" {
			t.Fatalf("not an OpenAI error: %s", out)
		}
		if len(*e.Message) > maxMessageBytes {
			t.Fatalf("message of %d bytes", len(*e.Message))
		}
		for _, s := range []*string{e.Message, e.Type, e.Param, e.Code} {
			if s == nil {
				continue
			}
			if strings.Contains(*s, secret) {
				t.Fatalf("secret in %s", out)
			}
			if !utf8.ValidString(*s) {
				t.Fatalf("invalid UTF-8 in %q", *s)
			}
		}
		// The raw bytes are not checked: an escape such as \u0012 followed by
		// "3456789abcdefSECRET" contains the secret's bytes without any JSON
		// reader decoding the secret; what a client reads is checked above.
	})
}
