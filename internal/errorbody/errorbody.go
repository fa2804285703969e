// Package errorbody writes the OpenAI error shape (SPEC 5),
//
//	{"error":{"message":"...","type":"...","param":null,"code":"..."}}
//
// that the middleware answers its own errors with and that the Azure
// adapter rewrites upstream errors into, so that a client sees one shape
// whichever of them answered.
package errorbody

import "encoding/json"

type body struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// Marshal returns the error body; an empty param or code is written as
// null, as OpenAI does.
func Marshal(message, typ, param, code string) []byte {
	var b body
	b.Error.Message, b.Error.Type = message, typ
	b.Error.Param, b.Error.Code = nullable(param), nullable(code)
	out, _ := json.Marshal(&b) // cannot fail: strings and pointers only
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
