//go:build !linux

package redistest

import "os/exec"

// killWithParent does nothing where the kernel cannot tie a child's life to
// its parent; the test's cleanup still stops the server.
func killWithParent(*exec.Cmd) {}
