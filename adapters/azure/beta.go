package azure

import "github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"

var _ contract.BetaDefaulter = (*Provider)(nil)

// BetaDefault implements contract.BetaDefaulter: Azure's preview Realtime
// API is deprecated, so the middleware translates beta mints onto the GA
// v1 endpoint unless the provider's configuration says "forward" (then
// /v1/realtime/sessions needs Config.APIVersion, as before).
func (p *Provider) BetaDefault() string { return contract.BetaTranslate }
