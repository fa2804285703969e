package sidecar_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

var (
	repoRoot  = filepath.Join("..", "..", "..", "..")
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	varRef    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)
)

// docVars gives every variable a documented YAML file or snippet uses
// without a default a value of the right shape; those with a default are
// left unset, so that the documented default is what is checked.
func docVars(text string) map[string]string {
	vars := map[string]string{}
	for _, m := range varRef.FindAllStringSubmatch(text, -1) {
		name := m[1]
		switch {
		case m[2] != "":
			continue
		case name == "SEAL_KEY":
			vars[name] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		case name == "REDIS_URL":
			vars[name] = "redis://127.0.0.1:1/0" // unreachable: -check warns, exits 0
		case strings.HasSuffix(name, "_ENDPOINT"):
			vars[name] = "https://my-resource.openai.azure.com"
		case strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_UPSTREAM"):
			vars[name] = "http://127.0.0.1:4000"
		case strings.HasSuffix(name, "_LISTEN"):
			vars[name] = "127.0.0.1:18080"
		default:
			vars[name] = "doc-test-value-" + strings.ToLower(name)
		}
	}
	return vars
}

// docMinimal makes a README fragment (a store or cors section) a whole
// config, the way the README presents it: added to a file with a provider
// and a virtual key.
const docMinimal = "providers: {openai: {keys: [{id: primary, value: \"${OPENAI_API_KEY}\"}]}}\n" +
	"virtual_keys: [{id: web, value: \"${VK_WEB}\"}]\n"

// TestDocumentedYAMLPassesCheck: every YAML snippet of the README and every
// YAML file in testdata/ passes realtimesecretd -check with its variables
// set, so no documented config stops the sidecar.
func TestDocumentedYAMLPassesCheck(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	docs := map[string]string{}
	for i, m := range yamlBlock.FindAllStringSubmatch(string(readme), -1) {
		text := m[1]
		if !regexp.MustCompile(`(?m)^providers:`).MatchString(text) {
			text = docMinimal + text
		}
		first, _, _ := strings.Cut(m[1], "\n")
		docs["README.md yaml block "+string(rune('1'+i))+" ("+first+")"] = text
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[filepath.Join("testdata", filepath.Base(f))] = string(b)
	}
	require.GreaterOrEqual(t, len(docs), 6, "the README's snippets and testdata's files")
	for name, text := range docs {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, text)
			var stdout, stderr bytes.Buffer
			code := sidecar.Run(context.Background(), []string{"-config", path, "-check"}, env(docVars(text)), &stdout, &stderr)
			require.Equal(t, 0, code, "stderr: %s\n%s", stderr.String(), text)
			assert.Contains(t, stdout.String(), ": OK")
			// Only the unreachable test Redis may warn.
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if line != "" {
					assert.Contains(t, line, "warning: redis at 127.0.0.1:1 did not answer within", "an unexpected warning")
				}
			}
		})
	}
}

// TestDocsQuoteReferencesInFlowCollections: no doc shows an unquoted
// ${...} inside [...] or {...} (invalid YAML), even in running text.
func TestDocsQuoteReferencesInFlowCollections(t *testing.T) {
	unquoted := regexp.MustCompile(`[\[{]\s*\$\{|:\s+\$\{[^}]*\}\s*[,}\]]`)
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "*.yaml"))
	require.NoError(t, err)
	for _, f := range append(files, filepath.Join(repoRoot, "README.md")) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			assert.False(t, unquoted.MatchString(line), "%s:%d: quote the reference: %s", filepath.Base(f), i+1, line)
		}
	}
}
