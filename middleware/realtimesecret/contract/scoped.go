package contract

// ProviderEndpoints is implemented by Providers that serve mint endpoints
// of their own API beyond the OpenAI ones, such as Gemini's
// EndpointAuthToken. It is optional, found by type assertion as
// SessionBroker is.
//
// The middleware answers each endpoint ProviderEndpoints lists only under
// the provider's scope, at /{name}{Endpoint.Path()} (after the path
// prefix), and sends it to no other provider: /v1/... has no such route.
// The request is admitted as a mint is (virtual key, policy, rate limit,
// key choice) and Mint receives it with that Endpoint. The list is read
// once, when the middleware is built.
type ProviderEndpoints interface {
	ProviderEndpoints() []Endpoint
}

// ErrorRenderer is implemented by Providers whose own endpoints
// (ProviderEndpoints) answer errors in their API's shape rather than
// OpenAI's, so that the provider's SDK reads the middleware's errors as it
// reads the provider's. It is optional.
//
// RenderError returns the JSON body to answer e with, on a route of one of
// the provider's own endpoints: every error the middleware answers there
// (a malformed body, a virtual key refused, a rate limit, an upstream
// failure) goes through it, with e's status and headers. It is called
// after the answer's fate is decided, so it must not fail; a nil result
// falls back to the OpenAI shape. Like e.Message, the body is shown to
// clients: it must hold nothing but what e says.
type ErrorRenderer interface {
	RenderError(e *Error) []byte
}
