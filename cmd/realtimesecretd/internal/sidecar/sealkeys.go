package sidecar

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// sealKeyBytes is the AES-256 key size the core requires.
const sealKeyBytes = 32

// decodeSealKeys decodes base64 seal keys, standard or URL-safe, padded or
// not. A key of the wrong length stops start-up: a short key must never be
// padded or silently accepted. Errors never hold key material.
func decodeSealKeys(in []realtimesecret.Secret) ([]realtimesecret.SealKey, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]realtimesecret.SealKey, len(in))
	for i, s := range in {
		text := strings.TrimSpace(s.Reveal())
		var key []byte
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(text); err == nil {
				key = b
				break
			}
		}
		switch {
		case key == nil:
			return nil, fmt.Errorf("seal_keys[%d]: not base64 (generate a key with: openssl rand -base64 32)", i)
		case len(key) != sealKeyBytes:
			return nil, fmt.Errorf("seal_keys[%d]: %d bytes, want %d (generate a key with: openssl rand -base64 32)", i, len(key), sealKeyBytes)
		}
		out[i] = key
	}
	return out, nil
}
