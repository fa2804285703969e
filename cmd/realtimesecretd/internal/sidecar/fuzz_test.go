package sidecar_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

// FuzzParse feeds the config parser arbitrary files. It must never panic
// and never put a variable's value into an error, whatever the file does
// with it.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalYAML))
	f.Add([]byte(harnessYAML))
	f.Add([]byte("providers: {openai: {keys: [{id: a, value: \"${OPENAI_API_KEY}\", weight: 2}]}}\nallow_anonymous: true\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("virtual_keys:\n  - &v {id: web, value: ${VK_WEB}}\n  - <<: *v\n    max_ttl: ${VK_WEB}\n"))
	f.Add([]byte("seal_keys: [\"${VK_WEB}\"]\nserver: {shutdown_timeout: ${OPENAI_API_KEY}}\n"))
	vars := env(baseEnv())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := sidecar.Parse(data, vars)
		if err == nil {
			return
		}
		// Long, distinctive values: a fuzzed file cannot contain them by
		// chance, so finding one in an error means it leaked.
		assert.NotContains(t, err.Error(), upstreamKey)
		assert.NotContains(t, err.Error(), virtualKey)
	})
}
