package sidecar

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mapEnv(m map[string]string) LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestExpandString(t *testing.T) {
	e := mapEnv(map[string]string{"A": "alpha", "EMPTY": "", "B_2": "two", "DOLLAR": "${A}"})
	tests := []struct {
		name  string
		in    string
		want  string
		unset []string
		err   string
	}{
		{name: "no reference", in: "plain", want: "plain"},
		{name: "whole value", in: "${A}", want: "alpha"},
		{name: "inside text", in: "x-${A}-${B_2}.", want: "x-alpha-two."},
		{name: "empty is set", in: "[${EMPTY}]", want: "[]"},
		{name: "default when unset", in: "${NOPE:-dflt}", want: "dflt"},
		{name: "default when empty", in: "${EMPTY:-dflt}", want: "dflt"},
		{name: "default not used when set", in: "${A:-dflt}", want: "alpha"},
		{name: "empty default", in: "${NOPE:-}", want: ""},
		{name: "default with colon", in: "${NOPE:-http://x:1}", want: "http://x:1"},
		{name: "escaped dollar", in: "$${A}", want: "${A}"},
		{name: "lone dollar", in: "a$b$", want: "a$b$"},
		{name: "value not expanded again", in: "${DOLLAR}", want: "${A}"},
		{name: "unset", in: "${NOPE}-${A}-${GONE}", unset: []string{"NOPE", "GONE"}},
		{name: "unclosed", in: "${A", err: "closing"},
		{name: "empty name", in: "${}", err: "variable name"},
		{name: "name with a dash", in: "${A-B}", err: "variable name"},
		{name: "name starting with a digit", in: "${1A}", err: "variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, unset, err := expandString(tc.in, e)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.unset, unset)
			if tc.unset == nil {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

// FuzzExpandString checks that expansion never panics, leaves text without
// "$" alone, and never puts a variable's value into an error.
func FuzzExpandString(f *testing.F) {
	for _, s := range []string{"", "plain", "${A}", "$${A}", "${A:-d}", "${", "$", "${A", "a${B}c${C:-}", "${}"} {
		f.Add(s)
	}
	const secret = "s3cr3t-value"
	e := mapEnv(map[string]string{"A": secret, "B": "${A}"})
	f.Fuzz(func(t *testing.T, in string) {
		out, _, err := expandString(in, e)
		if err != nil {
			assert.NotContains(t, err.Error(), secret)
			return
		}
		if !strings.Contains(in, "$") {
			assert.Equal(t, in, out)
		}
	})
}
