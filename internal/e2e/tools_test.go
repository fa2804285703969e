package e2e_test

import (
	"os"
	"os/exec"
	"testing"
)

// inCI reports whether the suite runs in CI, where a missing tool is a
// broken machine, not a developer's choice.
func inCI() bool {
	return os.Getenv("CI") == "true"
}

// missingTool stops a test that needs something the machine lacks: it fails
// under CI=true and skips elsewhere, with how to get it either way.
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// lookTool returns the path of the first of names found as a file or on
// PATH, or stops the test with missingTool.
func lookTool(t *testing.T, hint string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	missingTool(t, "none of %q found; %s", names, hint)
	return ""
}
