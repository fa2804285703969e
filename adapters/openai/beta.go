package openai

import "github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"

var _ contract.BetaDefaulter = (*Provider)(nil)

// BetaDefault implements contract.BetaDefaulter: OpenAI has switched the
// beta Realtime API off (its beta routes answer 400
// beta_api_shape_disabled), so the middleware translates beta mints onto
// the GA endpoint unless the provider's configuration says "forward", as
// it should for an OpenAI-compatible vendor that still serves beta.
func (p *Provider) BetaDefault() string { return contract.BetaTranslate }
