package realtimesecret

import "log/slog"

// Secret is a credential: a provider key or a virtual key value. It prints,
// logs and marshals as "[REDACTED]" so that a Config that reaches a log line,
// an error or a JSON dump never exposes it. Use Reveal to get the value.
type Secret string

const redacted = "[REDACTED]"

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
