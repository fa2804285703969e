package readme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestREADMESnippets: every ```go block of README.md is found verbatim
// (at any indentation) in a Go file of this package, so that the README
// shows code that compiles; and the quick start programs build.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks, "README.md has Go snippets")

	var sources []string
	for _, pattern := range []string{"*.go", "*/*.go"} {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f) //nolint:gosec // this package's own files
			require.NoError(t, err)
			sources = append(sources, string(b))
		}
	}
	require.GreaterOrEqual(t, len(sources), 4)
	for _, b := range blocks {
		snippet := b[1]
		first, _, _ := strings.Cut(snippet, "\n")
		t.Run(first, func(t *testing.T) {
			found := false
			for _, src := range sources {
				if containsIndented(src, snippet) {
					found = true
					break
				}
			}
			assert.True(t, found, "README snippet not found verbatim in internal/readme; edit both:\n%s", snippet)
		})
	}

	t.Run("the quick starts build", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), "go", "vet", "./chi", "./servemux").CombinedOutput()
		assert.NoError(t, err, "%s", out)
	})
}

// containsIndented reports whether src holds snippet's lines in a row, each
// indented by the same number of extra tabs (empty lines match empty lines).
func containsIndented(src, snippet string) bool {
	want := strings.Split(strings.TrimSuffix(snippet, "\n"), "\n")
	lines := strings.Split(src, "\n")
	for i := range lines {
		if i+len(want) > len(lines) {
			return false
		}
		indent, ok := strings.CutSuffix(lines[i], want[0])
		if !ok || strings.Trim(indent, "\t") != "" {
			continue
		}
		match := true
		for j, w := range want {
			l := lines[i+j]
			if w == "" {
				match = l == ""
			} else {
				match = l == indent+w
			}
			if !match {
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
