package memory_test

import (
	"testing"

	"github.com/realtimesecret/realtimesecret/internal/registrytest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// TestGovernanceMemoryRegistry runs the SessionRegistry conformance cases
// that adapters/redisstore runs too, so one node and many behave alike.
func TestGovernanceMemoryRegistry(t *testing.T) {
	registrytest.Run(t, func(*testing.T) contract.SessionRegistry {
		return memory.NewSessionRegistry()
	})
}
