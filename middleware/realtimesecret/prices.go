package realtimesecret

import (
	"math"
	"slices"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// builtinPrices are the list prices of the models the middleware brokers,
// in US dollars per 1M tokens (per second for GPT-Live), as OpenAI's model
// pages gave them when retrieved on 2026-12-06. Config.Prices replaces an
// entry of the same name or adds one; a model none matches has no price,
// and a budgeted session on it is refused (model_not_priced).
//
// A name matches a model that is the name, or the name followed by "-" or
// "." and a digit: a dated snapshot ("gpt-realtime-2025-08-28") or a
// numbered version ("gpt-realtime-1.5"). The longest name that matches
// wins, so "gpt-realtime-mini-2025-12-15" is priced as gpt-realtime-mini
// and "gpt-realtime-2" has its own entry. A newer model that matches an
// older name by its number is priced as the older one until it is added
// here or to Config.Prices.
var builtinPrices = map[string]contract.Price{
	// https://developers.openai.com/api/docs/models/gpt-realtime-1.5 (the
	// page of the current gpt-realtime snapshot; gpt-realtime's own page
	// was not in the index, and third-party copies of it, e.g.
	// callmissed.com/models/gpt-realtime, give the same $4/$16 text and
	// $32/$64 audio), retrieved 2026-12-06.
	"gpt-realtime": {
		TextInput: 4, CachedTextInput: 0.40, TextOutput: 16,
		AudioInput: 32, CachedAudioInput: 0.40, AudioOutput: 64,
		ImageInput: 5, CachedImageInput: 0.50,
	},
	// https://developers.openai.com/api/docs/models/gpt-realtime-2,
	// retrieved 2026-12-06: as gpt-realtime, text output $24.
	"gpt-realtime-2": {
		TextInput: 4, CachedTextInput: 0.40, TextOutput: 24,
		AudioInput: 32, CachedAudioInput: 0.40, AudioOutput: 64,
		ImageInput: 5, CachedImageInput: 0.50,
	},
	// https://developers.openai.com/api/docs/models/gpt-realtime-2.1-mini,
	// retrieved 2026-12-06, whose comparison gives GPT-Realtime Mini the
	// same $0.60 text input. The gpt-realtime-mini page itself was not in
	// the index: its cached text and image prices are taken from
	// 2.1-mini's and are placeholders until checked.
	"gpt-realtime-mini": {
		TextInput: 0.60, CachedTextInput: 0.06, TextOutput: 2.40,
		AudioInput: 10, CachedAudioInput: 0.30, AudioOutput: 20,
		ImageInput: 0.80, CachedImageInput: 0.08,
	},
	"gpt-realtime-2.1-mini": {
		TextInput: 0.60, CachedTextInput: 0.06, TextOutput: 2.40,
		AudioInput: 10, CachedAudioInput: 0.30, AudioOutput: 20,
		ImageInput: 0.80, CachedImageInput: 0.08,
	},
	// https://developers.openai.com/api/docs/models/gpt-4o-transcribe,
	// retrieved 2026-12-06: audio input $2.50, output $10. The page lists
	// no text input (a prompt) and no cached price: text input is priced
	// as audio input, a placeholder, and nothing is discounted.
	"gpt-4o-transcribe": {
		TextInput: 2.50, CachedTextInput: 2.50, TextOutput: 10,
		AudioInput: 2.50, CachedAudioInput: 2.50, AudioOutput: 10,
	},
	// https://developers.openai.com/api/docs/models/compare?model=gpt-4o-mini-transcribe,
	// retrieved 2026-12-06: audio input $1.25, output $5; the same
	// placeholders as gpt-4o-transcribe.
	"gpt-4o-mini-transcribe": {
		TextInput: 1.25, CachedTextInput: 1.25, TextOutput: 5,
		AudioInput: 1.25, CachedAudioInput: 1.25, AudioOutput: 5,
	},
	// https://developers.openai.com/api/docs/models/gpt-live-1, retrieved
	// 2026-12-06: $0.05 per minute, billed per second (gpt-live-1.1 is the
	// same). The standby rate ($0.02 per minute,
	// https://developers.openai.com/api/docs/guides/voice-latency-cost) is
	// not applied: session.usage.updated reports one running total of
	// seconds, which does not say how many were standby, so every second
	// is priced active, an upper bound.
	"gpt-live-1": {PerSecond: 0.05 / 60},
	// Not built in: whisper-1 and gpt-realtime-whisper are priced per
	// minute of transcribed audio, which a call's sideband does not report
	// in a form the meter reads; a budgeted session on them is refused.
}

// maxPrice bounds a price per unit: more than this is a typo (a price per
// token written where one per 1M tokens belongs is far below it).
const maxPrice = 1e6

// prices looks up the price of a model: the built-in table with
// Config.Prices merged in, longest name first.
type prices struct {
	entries []priceEntry
}

type priceEntry struct {
	name  string // lower case
	price contract.Price
}

func newPrices(overrides map[string]contract.Price) *prices {
	merged := make(map[string]contract.Price, len(builtinPrices)+len(overrides))
	for name, p := range builtinPrices {
		merged[name] = p
	}
	for name, p := range overrides {
		merged[strings.ToLower(name)] = p
	}
	ps := &prices{entries: make([]priceEntry, 0, len(merged))}
	for name, p := range merged {
		ps.entries = append(ps.entries, priceEntry{name: name, price: p})
	}
	slices.SortFunc(ps.entries, func(a, b priceEntry) int {
		if len(a.name) != len(b.name) {
			return len(b.name) - len(a.name)
		}
		return strings.Compare(a.name, b.name)
	})
	return ps
}

// lookup returns the price of model. It allocates nothing.
func (ps *prices) lookup(model string) (*contract.Price, bool) {
	for i := range ps.entries {
		if priceMatches(ps.entries[i].name, model) {
			return &ps.entries[i].price, true
		}
	}
	return nil, false
}

// priceMatches reports whether name, in lower case, prices model: model is
// name, or name followed by "-" or "." and a digit, case-insensitively.
func priceMatches(name, model string) bool {
	if len(model) < len(name) || !strings.EqualFold(model[:len(name)], name) {
		return false
	}
	rest := model[len(name):]
	return rest == "" || (len(rest) >= 2 && (rest[0] == '-' || rest[0] == '.') && rest[1] >= '0' && rest[1] <= '9')
}

// validPrice reports why p is not a usable price, or "".
func validPrice(p *contract.Price) string {
	for _, v := range [...]float64{p.TextInput, p.AudioInput, p.ImageInput, p.CachedTextInput, p.CachedAudioInput,
		p.CachedImageInput, p.TextOutput, p.AudioOutput, p.PerSecond} {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return "is not a number"
		case v < 0:
			return "is negative"
		case v > maxPrice:
			return "is above 1e6 dollars per unit"
		}
	}
	return ""
}

// perMillion converts a count of tokens at a price per 1M to dollars.
const perMillion = 1e-6

// responseCost returns what one response's usage costs at p, in dollars:
// never negative for the non-negative counts the meter accepts, and never
// below the bill where the usage leaves something out. Cached tokens the
// details do not split are taken off the kinds whose cache discount is
// smallest first; input or output tokens the details do not split are
// priced at the dearest kind.
func responseCost(p *contract.Price, u *responseUsage) float64 {
	in := &u.InputTokenDetails
	kinds := [3]struct {
		tokens, cached int64
		price, cachedP float64
	}{
		{in.TextTokens, in.CachedTokensDetails.TextTokens, p.TextInput, p.CachedTextInput},
		{in.AudioTokens, in.CachedTokensDetails.AudioTokens, p.AudioInput, p.CachedAudioInput},
		{in.ImageTokens, in.CachedTokensDetails.ImageTokens, p.ImageInput, p.CachedImageInput},
	}
	// Cached tokens the details leave unsplit.
	unsplit := in.CachedTokens
	for _, k := range kinds {
		unsplit -= k.cached
	}
	if unsplit > 0 {
		order := [3]int{0, 1, 2}
		slices.SortStableFunc(order[:], func(a, b int) int {
			da, db := kinds[a].price-kinds[a].cachedP, kinds[b].price-kinds[b].cachedP
			switch {
			case da < db:
				return -1
			case da > db:
				return 1
			}
			return 0
		})
		for _, i := range order {
			take := min(unsplit, max(kinds[i].tokens-kinds[i].cached, 0))
			kinds[i].cached += take
			unsplit -= take
		}
	}
	var usd float64
	var split int64
	for _, k := range kinds {
		cached := min(k.cached, k.tokens)
		usd += float64(k.tokens-cached)*k.price + float64(cached)*k.cachedP
		split += k.tokens
	}
	usd += float64(max(u.InputTokens-split, 0)) * max(p.TextInput, p.AudioInput, p.ImageInput)
	out := &u.OutputTokenDetails
	usd += float64(out.TextTokens)*p.TextOutput + float64(out.AudioTokens)*p.AudioOutput
	usd += float64(max(u.OutputTokens-out.TextTokens-out.AudioTokens, 0)) * max(p.TextOutput, p.AudioOutput)
	return usd * perMillion
}
