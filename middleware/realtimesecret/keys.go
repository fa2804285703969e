package realtimesecret

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// allows reports whether the key may mint for model. An empty model (the
// provider's default) is allowed by every key that does not block "".
func keyAllows(k *Key, model string) bool {
	if k.Disabled {
		return false
	}
	for _, b := range k.BlockedModels {
		if strings.EqualFold(b, model) {
			return false
		}
	}
	if len(k.Models) == 0 || model == "" {
		return true
	}
	return matchModel(k.Models, model)
}

// matchModel reports whether list holds "*" or model (case-insensitively).
func matchModel(list []string, model string) bool {
	for _, m := range list {
		if m == "*" || strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

// resolveAlias maps model through the key's aliases: exact, then
// case-insensitive; unmapped models are returned as they are.
func resolveAlias(k *Key, model string) string {
	if to, ok := k.Aliases[model]; ok {
		return to
	}
	for from, to := range k.Aliases {
		if strings.EqualFold(from, model) {
			return to
		}
	}
	return model
}

// effectiveAliases returns the aliases a key applies: its own, plus every
// provider alias whose requested model the key does not map itself
// (compared case-insensitively, as aliases are matched). It returns a new
// map, or nil when both are empty.
func effectiveAliases(provider, key map[string]string) map[string]string {
	if len(provider) == 0 && len(key) == 0 {
		return nil
	}
	out := make(map[string]string, len(provider)+len(key))
	for from, to := range key {
		out[from] = to
	}
	for from, to := range provider {
		if !hasFold(key, from) {
			out[from] = to
		}
	}
	return out
}

func hasFold(m map[string]string, s string) bool {
	if _, ok := m[s]; ok {
		return true
	}
	for k := range m {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// pickKey chooses among the keys that allow model, by weight. It returns nil
// when none does. It allocates nothing.
func pickKey(keys []Key, model string) *Key {
	var total float64
	var n int
	for i := range keys {
		if keyAllows(&keys[i], model) {
			total += keyWeight(&keys[i])
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		for i := range keys {
			if keyAllows(&keys[i], model) {
				return &keys[i]
			}
		}
	}
	x := rand.Float64() * total //nolint:gosec // load spreading, not a secret: predictability is harmless
	var last *Key
	for i := range keys {
		if !keyAllows(&keys[i], model) {
			continue
		}
		last = &keys[i]
		x -= keyWeight(&keys[i])
		if x < 0 {
			return last
		}
	}
	return last // rounding left x at or just above zero
}

func keyWeight(k *Key) float64 {
	if k.Weight == 0 {
		return 1
	}
	return k.Weight
}

// VirtualKey is a credential the middleware hands to callers instead of a
// provider key, with the policy that applies to it.
type VirtualKey struct {
	// ID names the key in records, logs and metrics. Required, unique.
	ID string
	// Value is the secret the caller presents, as "Authorization: Bearer
	// <value>", in Config.VirtualKeyHeader, or in x-goog-api-key, where
	// Google's SDKs send their API key. Required, unique.
	Value Secret
	// Disabled rejects the key with 403 while keeping it known.
	Disabled bool
	// Providers lists the provider names the key may mint for. Nil or empty
	// allows all.
	Providers []string
	// Models lists the requested models (before aliases) the key may mint
	// for, case-insensitively. Nil or empty, or a list with "*", allows all.
	Models []string
	// MaxTTL caps the lifetime of the secrets the key mints; a longer request
	// is clamped, and when the request names none and MaxTTL is below the
	// provider's default of 10 minutes, MaxTTL is sent. Zero means no cap.
	MaxTTL time.Duration
	// RateLimit caps mints per key. The zero value means no limit.
	RateLimit Rate
	// MaxSession caps how long a brokered session of the key lives: it is
	// ended upstream at its creation plus MaxSession. Zero means no cap
	// (the record is kept for Config.SessionLifetime).
	MaxSession time.Duration
	// MaxSessions caps the key's concurrent sessions: brokered sessions and
	// WebSocket redemptions of its tokens through the middleware. One more
	// is answered 429 too_many_sessions. Zero means no limit.
	MaxSessions int
	// GovernanceFailOpen admits the key's sessions without a lease when
	// the SessionRegistry cannot answer; see Config.GovernanceFailOpen.
	GovernanceFailOpen bool
	// SingleUse makes the secrets the key mints single-use: the first
	// redemption through the middleware (a WebSocket, a call, any request
	// that carries the secret) passes, every later one is 401
	// client_secret_used, on every node that shares the Store, and for
	// sealed tokens too. A redemption that goes to the provider without
	// passing through the middleware is not seen.
	SingleUse bool
	// MaxUses caps the uses (sessions opened) a Gemini auth token minted
	// with the key may ask for; "uses": 0, which Google reads as no limit,
	// is always refused. Zero means 1, Google's default.
	MaxUses int
	// Budget caps what the key's metered sessions cost per period (USD
	// per Per, fixed windows aligned to the Unix epoch). A session
	// created when it is spent is answered 429 budget_exceeded; the usage
	// that spends it ends every live session of the key upstream. Its
	// sessions must be metered and their models priced (see
	// Config.Prices). The zero value means no budget.
	Budget contract.Budget
	// AllowUnmeteredMints lets a key with a Budget mint client secrets.
	// WARNING: the sessions a client secret opens go to the provider
	// directly, so the middleware cannot count them: they spend outside
	// the budget. False (the default) answers a budgeted key's mints 403
	// unmetered_mint, asking for a brokered session instead.
	AllowUnmeteredMints bool
}

// cloneKeys copies keys, each with providerAliases merged into its Aliases
// (the key's own entries win; see effectiveAliases).
func cloneKeys(keys []Key, providerAliases map[string]string) []Key {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Models = slices.Clone(out[i].Models)
		out[i].BlockedModels = slices.Clone(out[i].BlockedModels)
		out[i].Aliases = effectiveAliases(providerAliases, out[i].Aliases)
	}
	return out
}
