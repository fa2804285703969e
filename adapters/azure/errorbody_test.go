package azure_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func TestErrorBodyMapping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{
			name: "azure code and message", status: http.StatusNotFound,
			body: `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`,
			want: `{"error":{"message":"The API deployment for this resource does not exist.","type":"invalid_request_error","param":null,"code":"DeploymentNotFound"}}`,
		},
		{
			name: "numeric-string code, 401", status: http.StatusUnauthorized,
			body: `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`,
			want: `{"error":{"message":"Access denied due to invalid subscription key or wrong API endpoint.","type":"authentication_error","param":null,"code":"401"}}`,
		},
		{
			name: "number code, 429", status: http.StatusTooManyRequests,
			body: `{"error":{"code":429,"message":"Requests to the Realtime API have exceeded token rate limit."}}`,
			want: `{"error":{"message":"Requests to the Realtime API have exceeded token rate limit.","type":"rate_limit_error","param":null,"code":"429"}}`,
		},
		{
			name: "content filter with innererror", status: http.StatusBadRequest,
			body: `{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,
				"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}`,
			want: `{"error":{"message":"The response was filtered","type":"invalid_request_error","param":"prompt","code":"content_filter"}}`,
		},
		{
			name: "innererror code when no code", status: http.StatusBadRequest,
			body: `{"error":{"message":"Blocked","innererror":{"code":"ResponsibleAIPolicyViolation"}}}`,
			want: `{"error":{"message":"Blocked","type":"invalid_request_error","param":null,"code":"ResponsibleAIPolicyViolation"}}`,
		},
		{
			name: "already OpenAI-shaped (v1 API)", status: http.StatusBadRequest,
			body: `{"error":{"message":"Invalid value: 'x'.","type":"invalid_request_error","param":"session.type","code":"invalid_value"}}`,
			want: `{"error":{"message":"Invalid value: 'x'.","type":"invalid_request_error","param":"session.type","code":"invalid_value"}}`,
		},
		{
			name: "API Management", status: http.StatusUnauthorized,
			body: `{ "statusCode": 401, "message": "Unauthorized. Access token is missing or invalid." }`,
			want: `{"error":{"message":"Unauthorized. Access token is missing or invalid.","type":"authentication_error","param":null,"code":null}}`,
		},
		{
			name: "error as a string", status: http.StatusForbidden,
			body: `{"error":"Public access is disabled. Please configure private endpoint."}`,
			want: `{"error":{"message":"Public access is disabled. Please configure private endpoint.","type":"permission_error","param":null,"code":null}}`,
		},
		{
			name: "prose in type is not a type", status: http.StatusInternalServerError,
			body: `{"error":{"message":"Oops","type":"something went wrong here"}}`,
			want: `{"error":{"message":"Oops","type":"server_error","param":null,"code":null}}`,
		},
		{
			name: "HTML from a gateway", status: http.StatusBadGateway,
			body: `<html><body>502 Bad Gateway</body></html>`,
			want: `{"error":{"message":"Azure OpenAI answered with status 502","type":"server_error","param":null,"code":"upstream_error"}}`,
		},
		{
			name: "empty", status: http.StatusServiceUnavailable, body: ``,
			want: `{"error":{"message":"Azure OpenAI answered with status 503","type":"server_error","param":null,"code":"upstream_error"}}`,
		},
		{
			name: "JSON without a message", status: http.StatusBadRequest, body: `{"error":{"code":"BadRequest"}}`,
			want: `{"error":{"message":"Azure OpenAI answered with status 400","type":"invalid_request_error","param":null,"code":"BadRequest"}}`,
		},
		{
			name: "the key echoed in every field is redacted", status: http.StatusUnauthorized,
			body: `{"error":{"message":"key ` + testKey + ` is invalid","type":"` + testKey + `","param":"` + testKey + `","code":"x` + testKey + `"}}`,
			want: `{"error":{"message":"key [REDACTED] is invalid","type":"authentication_error","param":"[REDACTED]","code":"x[REDACTED]"}}`,
		},
		{
			name: "the key echoed with JSON escapes is redacted", status: http.StatusUnauthorized,
			body: `{"statusCode":401,"message":"bad key 0123456789abcdef0123456789SECRE\u0054"}`,
			want: `{"error":{"message":"bad key [REDACTED]","type":"authentication_error","param":null,"code":null}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Apim-Request-Id", "apim-7")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			p := newProvider(t, azure.Config{Endpoint: srv.URL})
			resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode, "status kept")
			assert.JSONEq(t, tc.want, string(resp.Body))
			assert.Equal(t, "apim-7", resp.Header.Get("Apim-Request-Id"))
		})
	}
}

func TestErrorBodyMappingClipsLongMessages(t *testing.T) {
	long := make([]byte, 10000)
	for i := range long {
		long[i] = 'a'
	}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"`+string(long)+`é"}}`)
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	require.NoError(t, err)
	assert.Less(t, len(resp.Body), 2200)
	assert.Contains(t, string(resp.Body), `"message":"aaaa`)
}

func TestSuccessBodyEchoingKeyRedacted(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"value":"ek_1","expires_at":1756310470,"debug":"`+testKey+`"}`)
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	require.NoError(t, err)
	assert.Equal(t, `{"value":"ek_1","expires_at":1756310470,"debug":"[REDACTED]"}`, string(resp.Body))
}

func TestSuccessBodyNotRewritten(t *testing.T) {
	const reply = "{ \"value\":\"ek_1\", \"expires_at\":1756310470,\"error\":{\"message\":\"not an error\"} }"
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, reply) })
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	require.NoError(t, err)
	assert.Equal(t, reply, string(resp.Body))
}
