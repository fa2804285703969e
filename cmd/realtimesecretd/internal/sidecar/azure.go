package sidecar

import (
	"context"
	"fmt"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// validateTypeFields checks that a provider uses only the settings of its
// type: endpoint, api_version and bearer_token belong to azure, base_url to
// openai. A setting the adapter would ignore must not look configured.
func validateTypeFields(name string, p ProviderConfig) error {
	if p.Type != "azure" {
		if p.Endpoint != "" || p.APIVersion != "" {
			return fmt.Errorf("providers.%s: endpoint and api_version are for type azure; type %s takes base_url", name, p.Type)
		}
		for i, k := range p.Keys {
			if k.BearerToken != "" {
				return fmt.Errorf("providers.%s.keys[%d] (%s): bearer_token is for type azure; put the key in value", name, i, k.ID)
			}
		}
		return nil
	}
	if p.BaseURL != "" {
		return fmt.Errorf("providers.%s: base_url is for type openai, xai or gemini; type azure takes endpoint", name)
	}
	if p.Endpoint == "" {
		return fmt.Errorf("providers.%s: endpoint is required for type azure, like https://my-resource.openai.azure.com", name)
	}
	for i, k := range p.Keys {
		if k.Value != "" && k.BearerToken != "" {
			return fmt.Errorf("providers.%s.keys[%d] (%s): value and bearer_token are both set; "+
				"value is sent as api-key, bearer_token as Authorization: Bearer: keep one", name, i, k.ID)
		}
	}
	return nil
}

// buildAzure returns the adapter of an azure provider. Keys with a
// bearer_token (whose Key.Value build sets to the token) authenticate with
// "Authorization: Bearer", the others with "api-key"; a provider may mix
// them, for example while moving from keys to Entra ID.
func buildAzure(p ProviderConfig) (contract.Provider, error) {
	cfg := azure.Config{
		Endpoint:         p.Endpoint,
		APIVersion:       p.APIVersion,
		Timeout:          time.Duration(p.Timeout),
		MaxResponseBytes: p.MaxResponseBytes,
	}
	bearerIDs := map[string]bool{}
	for _, k := range p.Keys {
		if k.BearerToken != "" {
			bearerIDs[k.ID] = true
		}
	}
	if len(bearerIDs) == len(p.Keys) {
		cfg.Auth = azure.AuthBearer
	}
	apiKey, err := azure.New(cfg)
	if err != nil || len(bearerIDs) == 0 || len(bearerIDs) == len(p.Keys) {
		return apiKey, err
	}
	cfg.Auth = azure.AuthBearer
	bearer, err := azure.New(cfg)
	if err != nil {
		return nil, err
	}
	return &authByKey{apiKey: apiKey, bearer: bearer, bearerIDs: bearerIDs}, nil
}

// authByKey sends each mint through the adapter that authenticates its key
// the way the config says.
type authByKey struct {
	apiKey, bearer contract.Provider
	bearerIDs      map[string]bool
}

func (a *authByKey) Mint(ctx context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	if req != nil && req.Key != nil && a.bearerIDs[req.Key.ID] {
		return a.bearer.Mint(ctx, req)
	}
	return a.apiKey.Mint(ctx, req)
}
