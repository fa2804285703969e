package realtimesecret

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[REDACTED]"

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
