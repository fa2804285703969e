package sidecar

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/adapters/gemini"
	"github.com/realtimesecret/realtimesecret/adapters/xai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// providerTypes are the adapters a provider's type may name; a provider
// named like one of them has that type by default.
var providerTypes = []string{"openai", "azure", "xai", "gemini"}

// typeList names providerTypes in messages.
const typeList = "openai, azure, xai or gemini"

// knownType reports whether t names an adapter.
func knownType(t string) bool { return slices.Contains(providerTypes, t) }

// buildVoice returns the adapter of an xai or gemini provider: base_url
// (default the vendor's API), timeout and max_response_bytes.
func buildVoice(p ProviderConfig) (contract.Provider, error) {
	if p.Type == "gemini" {
		return gemini.New(gemini.Config{BaseURL: p.BaseURL, Timeout: time.Duration(p.Timeout), MaxResponseBytes: p.MaxResponseBytes})
	}
	return xai.New(xai.Config{BaseURL: p.BaseURL, Timeout: time.Duration(p.Timeout), MaxResponseBytes: p.MaxResponseBytes})
}

// providerRoutes returns, for the provider name, the paths it is served
// on under /{name}/ (after the path prefix), as its adapter serves them:
// an OpenAI provider every mint and session route, Azure those its
// endpoint serves, xAI client secrets, Gemini Google's auth tokens.
func providerRoutes(cfg *Config, name string) []string {
	p := cfg.Providers[name]
	var eps []contract.Endpoint
	switch p.Type {
	case "openai":
		eps = append(contract.Endpoints(), contract.EndpointCall, contract.EndpointLiveSession)
	case "azure":
		eps = []contract.Endpoint{contract.EndpointClientSecret, contract.EndpointTranslation}
		if p.APIVersion != "" {
			eps = append(eps, contract.EndpointSession)
		}
		eps = append(eps, contract.EndpointCall, contract.EndpointLiveSession)
	case "xai":
		eps = []contract.Endpoint{contract.EndpointClientSecret}
	case "gemini":
		eps = []contract.Endpoint{contract.EndpointAuthToken}
	}
	scope := strings.TrimSuffix(cfg.PathPrefix, "/") + "/" + name
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = scope + e.Path()
	}
	return out
}

// routesLine describes the routes of the provider name for -check: its
// paths and, for a provider of the OpenAI endpoints, the unscoped route
// that reaches it with the model written "name/model".
func routesLine(cfg *Config, name string) string {
	line := "provider " + name + " (" + cfg.Providers[name].Type + "): POST " + strings.Join(providerRoutes(cfg, name), ", ")
	if cfg.Providers[name].Type != "gemini" {
		line += "; and on " + strings.TrimSuffix(cfg.PathPrefix, "/") + "/v1/... with the model written " + name + "/<model>"
	}
	return line
}

// printRoutes writes each provider's routes, for -check.
func printRoutes(w io.Writer, cfg *Config) {
	for _, name := range cfg.providerOrder {
		fmt.Fprintln(w, routesLine(cfg, name))
	}
}

// logRoutes logs each provider's routes at start-up.
func logRoutes(log *slog.Logger, cfg *Config) {
	for _, name := range cfg.providerOrder {
		log.Info("provider routes", slog.String("provider", name), slog.String("type", cfg.Providers[name].Type),
			slog.Any("routes", providerRoutes(cfg, name)))
	}
}
