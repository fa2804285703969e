package memory_test

import (
	"testing"

	"github.com/realtimesecret/realtimesecret/internal/registrytest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// TestSpendMemoryLedger runs the SpendLedger conformance cases that
// adapters/redisstore runs too.
func TestSpendMemoryLedger(t *testing.T) {
	registrytest.RunSpend(t, func(*testing.T) contract.SpendLedger {
		return memory.NewSessionRegistry()
	})
}
