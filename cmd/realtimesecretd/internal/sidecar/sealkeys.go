package sidecar

import (
	"fmt"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// decodeSealKeys decodes the seal_keys with the core's ParseSealKey (base64,
// standard or URL-safe, padded or not). A key of the wrong length stops
// start-up: a short key must never be padded or silently accepted. Errors
// name the key by index and never hold key material.
func decodeSealKeys(in []realtimesecret.Secret) ([]realtimesecret.SealKey, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]realtimesecret.SealKey, len(in))
	for i, s := range in {
		key, err := realtimesecret.ParseSealKey(s.Reveal())
		if err != nil {
			// "realtimesecret: invalid seal key: 16 bytes, want 32 (...)"
			// reads as "seal_keys[0]: 16 bytes, want 32 (...)".
			msg := strings.TrimPrefix(err.Error(), realtimesecret.ErrInvalidSealKey.Error()+": ")
			return nil, fmt.Errorf("seal_keys[%d]: %s", i, msg)
		}
		out[i] = key
	}
	return out, nil
}
