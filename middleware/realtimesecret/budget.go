package realtimesecret

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// defaultSidebandAttachTimeout is Config.SidebandAttachTimeout when it is
// zero.
const defaultSidebandAttachTimeout = 10 * time.Second

// minBudgetPer is the shortest budget period: a shorter one starts over
// before a session's usage has been counted.
const minBudgetPer = time.Minute

// maxBudgetUSD bounds a budget: a ledger keeps micro-dollars exactly up to
// about nine billion.
const maxBudgetUSD = 1e9

// typeInsufficientQuota is the error type of a spent budget, as OpenAI
// answers a spent quota.
const typeInsufficientQuota = "insufficient_quota"

// budgets holds the spend governance of principals with a Budget: the
// checks before a session is created, the ledger their sessions' costs go
// to, and the ends of the sessions of a principal whose budget is spent
// or whose session cannot be metered. It holds the prices and the ledger,
// and ends sessions through the governor.
type budgets struct {
	ledger   contract.SpendLedger
	prices   *prices
	governor *governor
	log      *slog.Logger
	// failOpen admits a budgeted session when the ledger cannot say what
	// its principal spent (Config.GovernanceFailOpen); otherwise it is
	// refused with 503.
	failOpen bool

	mu      sync.Mutex
	ending  map[string]bool // principals whose sessions are being ended for their budget
	pending sync.WaitGroup
}

// refuseUnmeteredMint refuses a mint (a client secret, whose sessions the
// middleware never sees) to a principal with a budget, unless it may mint
// unmetered.
func refuseUnmeteredMint(ep Endpoint, p *Principal) *Error {
	if ep.IsSession() || p.Budget.IsZero() || p.AllowUnmeteredMints {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "unmetered_mint",
		Message: "the virtual key has a budget, and the sessions of a client secret are not metered: " +
			"create the session through the broker (POST /v1/realtime/calls or /v1/live/sessions) instead"}
}

// check decides whether principal p may create a session of model on
// provider pv: a principal without a budget always may; one with a budget
// needs a metered provider, a priced model and a budget not yet spent.
// storeErr is set when the ledger could not answer (the session is then
// refused with 503, unless governance fails open). It allocates nothing
// when it admits.
func (bg *budgets) check(ctx context.Context, p *Principal, pv *provider, model, param string) (e *Error, storeErr error) {
	if p.Budget.IsZero() {
		return nil, nil
	}
	if validateBudget(p.Budget) != "" { // an Authorizer's: virtual keys are checked by New
		return &Error{Status: http.StatusInternalServerError, Type: typeServer, Code: "invalid_budget",
			Message: "the principal's budget is not usable: it needs USD above 0 and Per of at least a minute"}, nil
	}
	if !pv.metered {
		return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "unmetered_session",
			Message: "the virtual key has a budget, and the sessions of provider " + quote(pv.name) + " are not metered"}, nil
	}
	if _, ok := bg.prices.lookup(model); !ok {
		return badRequest("model "+quote(model)+" has no price, and the virtual key has a budget: "+
			"its sessions could not be counted against it", param, "model_not_priced"), nil
	}
	spend, err := bg.ledger.Spent(ctx, p.ID, p.Budget.Per)
	switch {
	case err != nil && (bg.failOpen || p.GovernanceFailOpen):
		return nil, err
	case err != nil:
		return governanceUnavailable(err), err
	case spend.USD >= p.Budget.USD:
		return budgetExceeded(p.Budget, spend), nil
	}
	return nil, nil
}

// budgetExceeded refuses a session of a principal whose budget is spent.
// Retrying before the period ends cannot succeed: x-should-retry is false,
// and Retry-After says when it starts over.
func budgetExceeded(b contract.Budget, spend contract.Spend) *Error {
	resets := spend.PeriodStart.Add(b.Per)
	secs := max(int64(time.Until(resets)/time.Second), 1)
	return &Error{Status: http.StatusTooManyRequests, Type: typeInsufficientQuota, Code: "budget_exceeded",
		Message: "the virtual key's budget of $" + strconv.FormatFloat(b.USD, 'f', 2, 64) + " per " + b.Per.String() +
			" is spent ($" + strconv.FormatFloat(spend.USD, 'f', 2, 64) + " this period); it starts over at " +
			resets.UTC().Format(time.RFC3339),
		Header: http.Header{"X-Should-Retry": {"false"}, "Retry-After": {strconv.FormatInt(secs, 10)}}}
}

// overBudget ends every live session of principal upstream, because the
// usage of its session id (recorded as rec) spent its budget. It returns
// at once; a principal's sessions are ended by one goroutine at a time.
// When the registry cannot list them, session id is ended alone.
func (bg *budgets) overBudget(principal string, rec *Record, id string) {
	bg.mu.Lock()
	if bg.ending[principal] {
		bg.mu.Unlock()
		return
	}
	if bg.ending == nil {
		bg.ending = make(map[string]bool)
	}
	bg.ending[principal] = true
	bg.pending.Add(1)
	bg.mu.Unlock()
	r := *rec
	go func() {
		defer bg.pending.Done()
		defer func() {
			bg.mu.Lock()
			delete(bg.ending, principal)
			bg.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
		defer cancel()
		n, err := bg.governor.revokeAs(ctx, principal, UsageBudget)
		bg.log.LogAttrs(ctx, slog.LevelWarn, "realtime budget spent: sessions of the virtual key ended",
			slog.String("virtual_key_id", principal), slog.Int("ended", n))
		if err != nil {
			_ = bg.governor.endNow(ctx, principal, &r, id, UsageBudget)
		}
	}()
}

// endUnmetered ends a budgeted session whose sideband never attached:
// nothing it costs would be counted.
func (bg *budgets) endUnmetered(principal string, rec *Record, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	bg.log.LogAttrs(ctx, slog.LevelWarn, "realtime session ended: its budget needs metering, and its sideband did not attach",
		slog.String("virtual_key_id", principal), slog.String("session_id", id))
	_ = bg.governor.endNow(ctx, principal, rec, id, usageUnmetered)
}

// close waits for the budget ends under way.
func (bg *budgets) close() { bg.pending.Wait() }

// endNow ends principal's session id, recorded as rec, upstream for how:
// through the registry, so that it ends once across nodes, or directly
// when the registry cannot answer (its entry then lapses on its own).
func (g *governor) endNow(ctx context.Context, principal string, rec *Record, id string, how UsageEnd) error {
	ended, err := g.endSession(ctx, principal, id, how)
	if err == nil || ended {
		return err
	}
	return g.endUpstream(ctx, rec, id, how)
}

// validateBudget reports why b is not a usable budget, or "".
func validateBudget(b contract.Budget) string {
	switch {
	case b == contract.Budget{}:
		return ""
	case !(b.USD > 0) || b.USD > maxBudgetUSD:
		return "Budget.USD must be positive and at most a billion"
	case b.Per < minBudgetPer:
		return "Budget.Per must be at least a minute"
	}
	return ""
}
