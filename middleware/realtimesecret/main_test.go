package realtimesecret_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine is still running when
// they end: the middleware must start none that outlive its work, and every
// test must close the servers and clients it opened.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
