package realtimesecret

import (
	"context"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// NewBudgetCheck returns the budget check a session's creation runs before
// anything is held or sent (budgets.check), on ledger, for a metered
// provider and the built-in prices: for the benchmarks of the black-box
// tests.
func NewBudgetCheck(ledger contract.SpendLedger) func(ctx context.Context, p *Principal, model string) *Error {
	bg := &budgets{ledger: ledger, prices: newPrices(nil)}
	pv := &provider{name: "openai", metered: true}
	return func(ctx context.Context, p *Principal, model string) *Error {
		e, _ := bg.check(ctx, p, pv, model, "session.model")
		return e
	}
}
