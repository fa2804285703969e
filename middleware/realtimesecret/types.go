package realtimesecret

import "github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"

// The contract types an app names in its Config, its Authorizer and its
// hooks, so that it needs to import this package only. Adapter and store
// authors implement the rest of package contract.
type (
	// Key is one upstream (provider) API key; see contract.Key.
	Key = contract.Key
	// Secret is a credential that redacts itself; see contract.Secret.
	Secret = contract.Secret
	// Rate is a number of requests per period; see contract.Rate.
	Rate = contract.Rate
	// Record says who minted a token or created a session, with which
	// upstream key; see contract.Record.
	Record = contract.Record
	// Endpoint is the kind of request a route serves; see
	// contract.Endpoint for its values.
	Endpoint = contract.Endpoint
	// Error is an OpenAI-shaped error answer; see contract.Error.
	Error = contract.Error
)
