package realtimesecret

import (
	"fmt"
	"io"
	"log/slog"
)

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

// SealKey is a 32-byte AES-256 key for sealed tokens (Config.SealKeys). It
// prints, logs and marshals as "[REDACTED]", whatever the verb.
type SealKey []byte

// String implements fmt.Stringer and redacts the key.
func (SealKey) String() string { return redacted }

// GoString implements fmt.GoStringer and redacts the key (for %#v).
func (SealKey) GoString() string { return `"` + redacted + `"` }

// Format implements fmt.Formatter, so no verb (%x, %d, ...) prints the bytes.
func (SealKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer and redacts the key.
func (SealKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler and redacts the key.
func (SealKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }
