package sidecar_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

// TestParseSyntaxErrors: YAML syntax errors name the line the problem is
// on, and an unquoted ${...} inside [...] or {...} gets the fix.
func TestParseSyntaxErrors(t *testing.T) {
	const hint = `must be quoted, like seal_keys: ["${SEAL_KEY}"]`
	tests := []struct {
		name   string
		yaml   string
		want   []string
		noHint bool
		never  []string
	}{
		{name: "unquoted reference in a flow sequence (README's old seal_keys)",
			yaml: minimalYAML + "seal_keys: [${SEAL_KEY}]\n",
			want: []string{"line 10:", "did not find expected ',' or ']'", hint}},
		{name: "unquoted reference in a flow mapping",
			yaml: "allow_anonymous: true\nproviders:\n  openai: {keys: [{id: a, value: ${OPENAI_API_KEY}}]}\n",
			want: []string{"line 3:", hint}},
		{name: "unquoted reference on the next line of a flow sequence",
			yaml: minimalYAML + "seal_keys: [\"a\",\n  ${SEAL_KEY}]\n",
			want: []string{"line 10:", "(in the [...] that starts on this line)", hint}},
		{name: "an unclosed flow sequence without a reference: its line, no hint",
			yaml: "allow_anonymous: true\nproviders:\n  openai:\n    keys: [{id: a, value: k}\nvirtual_keys: []\n",
			want: []string{"line 4:"}, noHint: true},
		{name: "a block mapping error gets its right line",
			yaml: "allow_anonymous: true\nlisten: x\n- c\n",
			want: []string{"line 3:", "did not find expected key"}, noHint: true},
		{name: "scanner errors keep their right line",
			yaml: "allow_anonymous: true\n\tlisten: x\n",
			want: []string{"line 2:", "tab"}, noHint: true},
		{name: "the line's text is not quoted back",
			yaml:  minimalYAML + "seal_keys: [${SEAL_KEY}, sk-secret-in-the-file-0123]\n",
			want:  []string{"line 10:", hint},
			never: []string{"sk-secret-in-the-file-0123"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sidecar.Parse([]byte(tc.yaml), env(baseEnv()))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.noHint {
				assert.NotContains(t, err.Error(), hint)
			}
			for _, n := range tc.never {
				assert.NotContains(t, err.Error(), n)
			}
		})
	}
}

// TestQuotedSealKeyParses: the fix the hint gives works.
func TestQuotedSealKeyParses(t *testing.T) {
	e := baseEnv()
	e["SEAL_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	cfg, err := sidecar.Parse([]byte(minimalYAML+"seal_keys: [\"${SEAL_KEY}\"]\n"), env(e))
	require.NoError(t, err)
	assert.Len(t, cfg.SealKeys, 1)
}
