package errorbody_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
)

func TestMarshal(t *testing.T) {
	tests := []struct {
		name                      string
		message, typ, param, code string
		want                      string
	}{
		{
			name:    "all fields",
			message: "m", typ: "invalid_request_error", param: "session.model", code: "invalid_type",
			want: `{"error":{"message":"m","type":"invalid_request_error","param":"session.model","code":"invalid_type"}}`,
		},
		{
			name:    "empty param and code are null",
			message: `m "quoted"`, typ: "server_error",
			want: `{"error":{"message":"m \"quoted\"","type":"server_error","param":null,"code":null}}`,
		},
		{
			name:    "HTML characters are not escaped",
			message: `model <b> & "x" > y`, typ: "invalid_request_error", code: "model_not_allowed",
			want: `{"error":{"message":"model <b> & \"x\" > y","type":"invalid_request_error","param":null,"code":"model_not_allowed"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(errorbody.Marshal(tc.message, tc.typ, tc.param, tc.code))
			// Byte for byte: no \u003c escapes, no trailing newline.
			assert.Equal(t, tc.want, got)
		})
	}
}
