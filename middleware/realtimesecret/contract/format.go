package contract

// SecretFormat says what a provider's client secrets look like and where a
// client presents one when it redeems it, so that the middleware can
// attribute the requests that pass through it carrying one (in the
// sidecar, the WebSocket connection that opens the session). OpenAI's
// format, "ek_" secrets in "Authorization: Bearer" or in the WebSocket
// subprotocol "openai-insecure-api-key.", is always recognized and needs
// no SecretFormat.
//
// Every field is optional; a zero SecretFormat recognizes nothing. A
// credential that matches is looked up in the Store by its hash: the
// format only decides which credentials are worth a lookup, so it should
// be specific enough that a provider's API keys do not match it.
type SecretFormat struct {
	// Prefix starts every client secret the provider mints, for example
	// "auth_tokens/". A credential in the Authorization header (with
	// AuthScheme) or in QueryParam is looked up only when it starts with
	// Prefix; "" recognizes none there.
	Prefix string
	// AuthScheme is the Authorization scheme a client presents a secret
	// with: "Bearer" when "", or for example "Token". Compared
	// case-insensitively.
	AuthScheme string
	// Subprotocol is the WebSocket subprotocol prefix a browser presents a
	// secret in, for example "xai-client-secret.": the rest of the item is
	// the secret, whatever it starts with. "" means none.
	Subprotocol string
	// QueryParam is the URL query parameter a client presents a secret in
	// when it opens a WebSocket (GET, or CONNECT over HTTP/2), for example
	// "access_token". "" means none.
	QueryParam string
}

// SecretFormatter is implemented by Providers whose client secrets are
// presented other than as OpenAI's are. It is optional; the middleware
// reads the format once, when it is built, and recognizes the secrets of
// every configured provider on every pass-through request.
type SecretFormatter interface {
	SecretFormat() SecretFormat
}
