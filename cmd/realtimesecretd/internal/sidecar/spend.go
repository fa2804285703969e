package sidecar

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// PriceConfig is a model's price in US dollars, under prices: per 1M
// tokens of each kind for a Realtime model, per second for a GPT-Live one.
// An omitted kind is free.
type PriceConfig struct {
	TextInput        float64 `yaml:"text_input"`
	CachedTextInput  float64 `yaml:"cached_text_input"`
	AudioInput       float64 `yaml:"audio_input"`
	CachedAudioInput float64 `yaml:"cached_audio_input"`
	ImageInput       float64 `yaml:"image_input"`
	CachedImageInput float64 `yaml:"cached_image_input"`
	TextOutput       float64 `yaml:"text_output"`
	AudioOutput      float64 `yaml:"audio_output"`
	PerSecond        float64 `yaml:"per_second"`
}

// BudgetConfig caps what a virtual key's metered sessions cost per period,
// as {usd: 5.00, per: 24h}: fixed windows aligned to the Unix epoch (a 24h
// budget starts over at 00:00 UTC), shared by every sidecar on one Redis.
type BudgetConfig struct {
	// USD is the most the key's sessions may cost in one period.
	USD float64 `yaml:"usd"`
	// Per is the period, at least 1m.
	Per Duration `yaml:"per"`
}

// Limits of the spend keys, as the core's.
const (
	minBudgetPer = time.Minute
	maxBudgetUSD = 1e9
	maxPrice     = 1e6
)

func (b BudgetConfig) core() contract.Budget {
	return contract.Budget{USD: b.USD, Per: time.Duration(b.Per)}
}

func (p PriceConfig) core() contract.Price {
	return contract.Price{TextInput: p.TextInput, CachedTextInput: p.CachedTextInput, AudioInput: p.AudioInput,
		CachedAudioInput: p.CachedAudioInput, ImageInput: p.ImageInput, CachedImageInput: p.CachedImageInput,
		TextOutput: p.TextOutput, AudioOutput: p.AudioOutput, PerSecond: p.PerSecond}
}

// corePrices is prices: for the core's Config.Prices; nil for none.
func (c *Config) corePrices() map[string]contract.Price {
	if len(c.Prices) == 0 {
		return nil
	}
	out := make(map[string]contract.Price, len(c.Prices))
	for name, p := range c.Prices {
		out[name] = p.core()
	}
	return out
}

// validateSpend checks prices and the budgets of the virtual keys, in the
// file's terms.
func (c *Config) validateSpend() error {
	ix := c.ix
	names := make([]string, 0, len(c.Prices))
	for name := range c.Prices {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := c.Prices[name]
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("%s: a price needs a model name", ix.at("prices"))
		}
		for _, f := range []struct {
			key string
			v   float64
		}{
			{"text_input", p.TextInput}, {"cached_text_input", p.CachedTextInput}, {"audio_input", p.AudioInput},
			{"cached_audio_input", p.CachedAudioInput}, {"image_input", p.ImageInput}, {"cached_image_input", p.CachedImageInput},
			{"text_output", p.TextOutput}, {"audio_output", p.AudioOutput}, {"per_second", p.PerSecond},
		} {
			if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 || f.v > maxPrice {
				return fmt.Errorf("%s: want dollars (per 1M tokens, or per second for per_second) from 0 to %g",
					ix.at("prices."+name+"."+f.key), float64(maxPrice))
			}
		}
	}
	for i, vk := range c.VirtualKeys {
		path := "virtual_keys[" + strconv.Itoa(i) + "].budget"
		b := vk.Budget
		switch {
		case b == BudgetConfig{}:
			continue
		case !(b.USD > 0) || b.USD > maxBudgetUSD:
			return fmt.Errorf("%s (%s): want usd above 0 and at most %g, like {usd: 5.00, per: 24h}; omit budget for none",
				ix.at(path+".usd"), vk.ID, float64(maxBudgetUSD))
		case time.Duration(b.Per) < minBudgetPer:
			return fmt.Errorf("%s (%s): want per of at least %s, like {usd: 5.00, per: 24h}", ix.at(path+".per"), vk.ID, minBudgetPer)
		}
		for _, name := range c.providerOrder {
			p := c.Providers[name]
			if !brokersSessions(p) {
				continue // the key may only mint there, which a budget refuses
			}
			metered := c.UsageMetering
			if p.UsageMetering != nil {
				metered = *p.UsageMetering
			}
			if !metered && (len(vk.Providers) == 0 || slices.Contains(vk.Providers, name)) {
				return fmt.Errorf("%s (%s): provider %s's sessions are not metered, so the budget could not be held: "+
					"set usage_metering: true, or leave %s out of the key's providers", ix.at(path), vk.ID, name, name)
			}
		}
	}
	return nil
}

// spendWarnings reports the budgeted virtual keys that may ask for a model
// with no price (built in, or under prices): their sessions of it are
// refused (400 model_not_priced).
func (c *Config) spendWarnings() []string {
	priced := realtimesecret.Config{Prices: c.corePrices()}
	var out []string
	for i, vk := range c.VirtualKeys {
		if vk.Budget == (BudgetConfig{}) {
			continue
		}
		at := fmt.Sprintf("virtual_keys[%d] (%s)", i, vk.ID)
		if len(vk.Models) == 0 || slices.Contains(vk.Models, "*") {
			out = append(out, at+" has a budget and may ask for any model: a session of a model without a price "+
				"is refused (model_not_priced); list its models, each priced (built in or under prices)")
			continue
		}
		seen := map[string]bool{}
		for _, name := range c.providerOrder {
			if len(vk.Providers) > 0 && !slices.Contains(vk.Providers, name) {
				continue
			}
			p := c.Providers[name]
			for _, model := range vk.Models {
				for _, k := range p.Keys {
					if (k.Enabled != nil && !*k.Enabled) || !keyAllows(k, model) {
						continue
					}
					sent := resolveAlias(k.Aliases, model)
					if sent == "" {
						sent = resolveAlias(p.Aliases, model)
					}
					if sent == "" {
						sent = model
					}
					if _, ok := priced.PriceOf(sent); ok || seen[sent] {
						continue
					}
					seen[sent] = true
					via := ""
					if sent != model {
						via = fmt.Sprintf(" (sent upstream as %q by providers.%s key %q)", sent, name, k.ID)
					}
					out = append(out, fmt.Sprintf("%s has a budget, and model %q%s has no price: its sessions are refused "+
						"(model_not_priced); add %q under prices", at, model, via, sent))
				}
			}
		}
	}
	return out
}

// brokersSessions reports whether the adapter of p creates calls and
// GPT-Live sessions (which a budget holds) rather than only minting.
func brokersSessions(p ProviderConfig) bool {
	return p.Type == "openai" || p.Type == "azure"
}
