// Package version names the build of a Durapay binary: set at link time (make build and
// make images pass -ldflags "-X github.com/durapay/durapay/internal/platform/version.Version=...")
// and otherwise read from the Go build information.
package version

import (
	"runtime/debug"
)

// Version is the release this binary was built from; empty until set at link time.
var Version string

// String is the binary's version: the linked release, else the VCS revision the Go
// toolchain recorded (with "+dirty" for a modified tree), else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	var revision, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if revision == "" {
		return "devel"
	}
	return revision[:min(12, len(revision))] + dirty
}
