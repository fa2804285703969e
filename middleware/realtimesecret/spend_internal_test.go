package realtimesecret

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestSessionCostGoesOnFrom: an adopted session's cost goes on from what
// the ledger recorded; a GPT-Live running total then adds only the seconds
// beyond what that cost paid for, and nothing when it is lower.
func TestSessionCostGoesOnFrom(t *testing.T) {
	live := sessionCost{price: &contract.Price{PerSecond: 0.01}}
	live.goOnFrom(0.5) // 50 s
	assert.InDelta(t, 0.5, live.usd, 1e-12)
	assert.InDelta(t, 0.5, live.ledgered, 1e-12, "the ledger holds it already")
	live.liveSeconds(40)
	assert.InDelta(t, 0.5, live.usd, 1e-12, "a running total below what was paid for adds nothing")
	live.liveSeconds(60)
	assert.InDelta(t, 0.6, live.usd, 1e-12, "10 s more")

	call := sessionCost{price: &contract.Price{TextInput: 4}}
	call.goOnFrom(0.25)
	var u responseUsage
	u.InputTokens, u.InputTokenDetails.TextTokens = 1_000_000, 1_000_000
	call.response(&u)
	assert.InDelta(t, 4.25, call.usd, 1e-9)

	unpriced := sessionCost{}
	unpriced.goOnFrom(0.25)
	assert.Zero(t, unpriced.usd, "no price: nothing is counted")
	fresh := sessionCost{price: &contract.Price{PerSecond: 0.01}}
	fresh.goOnFrom(0)
	assert.Zero(t, fresh.seconds)
}
