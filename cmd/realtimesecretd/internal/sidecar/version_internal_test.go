package sidecar

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChooseVersion(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{
			name:    "make build stamps git describe, which wins",
			stamped: "v0.3.0-2-g0bd60ce-dirty",
			info:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0bd60ce1234567890", "true")},
			want:    "v0.3.0-2-g0bd60ce-dirty go1.26.8",
		},
		{
			name: "go install module@version records the module version",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want: "v1.2.3 go1.26.8",
		},
		{
			name: "a pseudo-version from go install module@commit",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260101000000-0bd60ce12345"}},
			want: "v0.0.0-20260101000000-0bd60ce12345 go1.26.8",
		},
		{
			name: "go build of a checkout names the revision",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0bd60ce1234567890", "false")},
			want: "(devel) 0bd60ce12345 go1.26.8",
		},
		{
			name: "and says when the tree had changes",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0bd60ce1234567890", "true")},
			want: "(devel) 0bd60ce12345+dirty go1.26.8",
		},
		{
			name: "go run without VCS information",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "(devel) go1.26.8",
		},
		{
			name: "an empty module version counts as devel",
			info: &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: "(devel) go1.26.8",
		},
		{
			name:    "no build information, stamped",
			stamped: "v1.0.0",
			want:    "v1.0.0",
		},
		{
			name: "no build information at all",
			want: "(devel)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, chooseVersion(tc.stamped, tc.info))
		})
	}
}
