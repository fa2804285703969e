package realtimesecret_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func TestParseSealKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:32] // URL-safe and standard base64 differ on these
	tests := []struct {
		name string
		in   string
		want string // error text; "" = parses to raw
	}{
		{name: "standard", in: base64.StdEncoding.EncodeToString(raw)},
		{name: "standard, unpadded", in: base64.RawStdEncoding.EncodeToString(raw)},
		{name: "URL-safe", in: base64.URLEncoding.EncodeToString(raw)},
		{name: "URL-safe, unpadded", in: base64.RawURLEncoding.EncodeToString(raw)},
		{name: "a trailing newline, as from a file", in: base64.StdEncoding.EncodeToString(raw) + "\n"},
		{name: "too short", in: base64.StdEncoding.EncodeToString(raw[:16]), want: "16 bytes, want 32"},
		{name: "too long", in: base64.StdEncoding.EncodeToString(append(raw, 0)), want: "33 bytes, want 32"},
		{name: "not base64", in: "not a key!", want: "not base64"},
		{name: "empty", in: "", want: "0 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := realtimesecret.ParseSealKey(tc.in)
			if tc.want != "" {
				require.ErrorIs(t, err, realtimesecret.ErrInvalidSealKey)
				assert.Contains(t, err.Error(), tc.want)
				assert.Contains(t, err.Error(), "openssl rand -base64 32")
				assert.Nil(t, key)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, raw, []byte(key))
			_, err = realtimesecret.New(realtimesecret.Config{
				Providers: baseConfig(newFakeProvider()).Providers,
				SealKeys:  []realtimesecret.SealKey{key},
			})
			assert.NoError(t, err, "a parsed key is accepted by New")
		})
	}
}
