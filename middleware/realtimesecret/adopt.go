package realtimesecret

import (
	"context"
	"log/slog"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// adopter meters the sessions whose metering node stopped: a node that
// dies or restarts takes its sideband attaches with it, and with a shared
// registry another node claims their lapsed watches (the governor's
// loop). The new meter attaches with the key that created the session:
// a session still live is metered (and budgeted) from then on; one that is
// over is found so, and ended here, which releases its lease. Without
// this a session that ended while unwatched would hold its lease until
// its record expired.
type adopter struct {
	records *records
	ps      *providers
	vks     *virtualKeys // nil without virtual keys
	meters  *meters
	// costs tells what the ledger recorded for an adopted session, which
	// its new meter goes on from; nil when the ledger cannot tell.
	costs contract.SessionCosts
	log   *slog.Logger
}

// adopt starts a meter for the tracked session s, unless one runs here or
// nothing can meter it any more.
func (a *adopter) adopt(ctx context.Context, s contract.TrackedSession) {
	if _, metered := a.meters.usage(s.ID); metered {
		return // this node's own, whose watch it could not renew in time
	}
	rec, found, err := a.records.session(ctx, s.ID)
	attrs := []slog.Attr{slog.String("session_id", s.ID), slog.String("virtual_key_id", s.Principal)}
	switch {
	case err != nil:
		a.log.LogAttrs(ctx, slog.LevelWarn, "realtime session not adopted: its record could not be read", append(attrs, errAttr(err))...)
		return
	case !found:
		return // expired with its record: nothing is left to govern
	}
	p := a.ps.byName[rec.Provider]
	if p == nil || !p.metered {
		a.log.LogAttrs(ctx, slog.LevelWarn, "realtime session not adopted: its provider is no longer metered here", attrs...)
		return
	}
	key := p.key(rec.KeyID)
	if key == nil {
		a.log.LogAttrs(ctx, slog.LevelWarn, "realtime session not adopted: the key that created it is no longer configured", attrs...)
		return
	}
	principal := a.vks.principalOf(&rec)
	var cost float64
	if a.costs != nil {
		if cost, err = a.costs.SessionCost(ctx, s.Principal, s.ID); err != nil {
			// Metered from zero: its cost counts once it passes what was
			// recorded, which is better than not metering it.
			a.log.LogAttrs(ctx, slog.LevelWarn, "realtime session adopted without its recorded cost", append(attrs, errAttr(err))...)
		}
	}
	a.meters.startFrom(p.watcher, key, s.ID, &principal, rec, cost)
	a.log.LogAttrs(ctx, slog.LevelInfo, "realtime session adopted: the node that metered it stopped", attrs...)
}
