package redistest

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill cmd when the test binary dies, so a
// test that times out and panics leaves no redis-server behind.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
