package errorbody_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
)

func TestMarshal(t *testing.T) {
	assert.JSONEq(t, `{"error":{"message":"m","type":"invalid_request_error","param":"session.model","code":"invalid_type"}}`,
		string(errorbody.Marshal("m", "invalid_request_error", "session.model", "invalid_type")))
	assert.JSONEq(t, `{"error":{"message":"m \"quoted\" <b>","type":"server_error","param":null,"code":null}}`,
		string(errorbody.Marshal(`m "quoted" <b>`, "server_error", "", "")), "empty param and code are null")
}
