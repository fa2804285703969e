package sidecar

import "runtime/debug"

// Version is the sidecar's version, set at link time by `make build`:
//
//	go build -ldflags "-X github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar.Version=$(git describe --tags --always --dirty)"
//
// Empty means the module version from the build information, which
// `go install github.com/realtimesecret/realtimesecret/cmd/realtimesecretd@v1.2.3`
// records.
var Version = ""

// develVersion is what the go command records as the main module's version
// when it does not know one (a plain go build or go run of a checkout).
const develVersion = "(devel)"

// versionString is what -version prints and the start-up log line carries.
func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return chooseVersion(Version, info)
}

// chooseVersion returns the version to report: stamped (from -ldflags) if
// set, else the main module's version from info, else "(devel)"; a
// "(devel)" build names its VCS revision when info has one. The Go version
// follows. info may be nil (a binary without build information).
func chooseVersion(stamped string, info *debug.BuildInfo) string {
	v := stamped
	if v == "" && info != nil && info.Main.Version != "" {
		v = info.Main.Version
	}
	if v == "" {
		v = develVersion
	}
	if info == nil {
		return v
	}
	if v == develVersion {
		if rev := vcsRevision(info); rev != "" {
			v += " " + rev
		}
	}
	if info.GoVersion != "" {
		v += " " + info.GoVersion
	}
	return v
}

// vcsRevision returns the first 12 characters of the build's VCS revision,
// with "+dirty" when the tree had changes, or "".
func vcsRevision(info *debug.BuildInfo) string {
	var rev string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	rev = rev[:min(len(rev), 12)]
	if modified {
		rev += "+dirty"
	}
	return rev
}
