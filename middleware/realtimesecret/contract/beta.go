package contract

// The ways the middleware serves a mint at the beta endpoints
// (EndpointSession, EndpointTranscriptionSession) for a provider: the
// values of the app's ProviderConfig.Beta and of BetaDefaulter.
const (
	// BetaTranslate sends a beta mint to the provider's GA endpoint
	// (EndpointClientSecret): the middleware translates the beta body into
	// the GA request, and the GA answer back into the beta shape. For
	// OpenAI and Azure, which have switched the beta API off.
	BetaTranslate = "translate"
	// BetaForward sends a beta mint to the provider as it is, with its
	// beta endpoint, for an OpenAI-compatible vendor that still serves the
	// beta API.
	BetaForward = "forward"
)

// BetaDefaulter is implemented by Providers that say how their beta mints
// are served when the app's configuration does not: BetaTranslate or
// BetaForward. It is optional, found by type assertion as SessionBroker
// is; a Provider without it gets BetaForward, its Mint seeing the beta
// endpoint as before. The OpenAI and Azure adapters return BetaTranslate.
type BetaDefaulter interface {
	BetaDefault() string
}
