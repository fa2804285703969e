// Package errorbody writes the OpenAI error shape,
//
//	{"error":{"message":"...","type":"...","param":null,"code":"..."}}
//
// that the middleware answers its own errors with and that the Azure
// adapter rewrites upstream errors into, so that a client sees one shape
// whichever of them answered.
package errorbody

import (
	"bytes"
	"encoding/json"
)

type body struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// Marshal returns the error body; an empty param or code is written as
// null, as OpenAI does. '<', '>' and '&' are written as they are, not as
// \u003c: the body is served as application/json, never as HTML, and a
// message such as "model <name>" must read the same in logs and SDK errors.
func Marshal(message, typ, param, code string) []byte {
	var b body
	b.Error.Message, b.Error.Type = message, typ
	b.Error.Param, b.Error.Code = nullable(param), nullable(code)
	var buf bytes.Buffer
	buf.Grow(64 + len(message) + len(typ) + len(param) + len(code))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(&b) // cannot fail: strings and pointers only
	// Encode ends the value with a newline, which Marshal never did.
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
