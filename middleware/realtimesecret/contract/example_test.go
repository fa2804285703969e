package contract_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// staticProvider is a Provider for an upstream that hands out client
// secrets of its own: a minimal adapter. A real one sends req.Body to its
// API with req.Key.Value and returns the reply whatever its status.
type staticProvider struct{ now func() time.Time }

var _ contract.Provider = staticProvider{}

func (p staticProvider) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", contract.ErrUpstreamUnavailable, err) // never the key in an error
	}
	if req.Endpoint != contract.EndpointClientSecret {
		return nil, &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: "unsupported_endpoint", Message: "this upstream mints GA client secrets only"}
	}
	expires := p.now().Add(10 * time.Minute).Unix()
	body := `{"value":"ek_static","expires_at":` + strconv.FormatInt(expires, 10) + `}`
	return &contract.Reply{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, nil
}

// An adapter implements Provider, and optionally SessionBroker and
// SessionWatcher, which the middleware finds by type assertion.
func Example() {
	var p contract.Provider = staticProvider{now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	reply, err := p.Mint(context.Background(), &contract.MintRequest{
		Endpoint: contract.EndpointClientSecret,
		Key:      &contract.Key{ID: "primary", Value: "sk-not-printed"},
		Body:     []byte(`{"session":{"type":"realtime","model":"gpt-realtime"}}`),
	})
	fmt.Println(reply.StatusCode, string(reply.Body), err)
	_, brokers := p.(contract.SessionBroker)
	fmt.Println("brokers sessions:", brokers)

	_, err = p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointSession})
	fmt.Println(err)
	fmt.Println(contract.Secret("sk-not-printed"))
	// Output:
	// 200 {"value":"ek_static","expires_at":1800000600} <nil>
	// brokers sessions: false
	// realtimesecret: this upstream mints GA client secrets only
	// [REDACTED]
}
