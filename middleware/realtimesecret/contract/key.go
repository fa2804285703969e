package contract

import (
	"log/slog"
	"time"
)

// Key is one upstream (provider) API key.
type Key struct {
	// ID names the key in records, logs and metrics. Required, unique within
	// its provider.
	ID string
	// Value is the provider API key. Required.
	Value Secret
	// Models lists the models this key may mint for, compared
	// case-insensitively. Nil or empty, or a list containing "*", allows all.
	Models []string
	// BlockedModels lists models this key must never mint for.
	BlockedModels []string
	// Weight is the key's share of mints among the keys that allow a model.
	// Zero means 1. Negative is a config error.
	Weight float64
	// Disabled keeps the key in the config but never picks it.
	Disabled bool
	// Aliases maps a requested model to the model (or, on Azure, the
	// deployment) the provider is sent, matched exactly, then
	// case-insensitively. Policy and key choice see the requested name.
	Aliases map[string]string
}

// Rate is a number of requests per period, enforced as a smooth rate that
// allows a burst of up to Requests.
type Rate struct {
	Requests int
	Per      time.Duration
}

// IsZero reports whether the rate sets no limit.
func (r Rate) IsZero() bool { return r.Requests <= 0 || r.Per <= 0 }

// Secret is a credential: a provider key or a virtual key value. It prints,
// logs and marshals as "[REDACTED]" so that a Config that reaches a log line,
// an error or a JSON dump never exposes it. Use Reveal to get the value.
type Secret string

// Reveal returns the secret value. Call it only where the value is sent to
// the party it belongs to.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer and redacts the value.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer and redacts the value (for %#v).
func (s Secret) GoString() string { return `"` + redacted + `"` }

// LogValue implements slog.LogValuer and redacts the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler and redacts the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

const redacted = "[REDACTED]"
