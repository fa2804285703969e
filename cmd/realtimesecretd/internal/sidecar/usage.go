package sidecar

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The usage routes of the admin API: every virtual key's spend, or one's.
const (
	adminUsagePath = "/admin/v1/usage"
	usageSuffix    = "/usage"
)

// usageTimeout bounds the store reads of one usage answer.
const usageTimeout = 5 * time.Second

// usageReport answers the usage routes from the store: what each virtual
// key spent this budget period and how many sessions it has live.
type usageReport struct {
	keys     []VirtualKeyConfig // in file order
	ledger   contract.SpendLedger
	registry contract.SessionTracker
}

func newUsageReport(cfg *Config, registry contract.SessionRegistry) *usageReport {
	u := &usageReport{keys: cfg.VirtualKeys, registry: registry}
	u.ledger, _ = registry.(contract.SpendLedger)
	return u
}

// keyUsage is one virtual key's entry of a usage answer. The spend fields
// are those of a key with a budget: the ledger keeps those only.
type keyUsage struct {
	ID           string       `json:"id"`
	Budget       *budgetUsage `json:"budget"`
	SpentUSD     *float64     `json:"spent_usd,omitempty"`
	RemainingUSD *float64     `json:"remaining_usd,omitempty"`
	PeriodStart  *time.Time   `json:"period_start,omitempty"`
	PeriodEnd    *time.Time   `json:"period_end,omitempty"`
	LiveSessions int          `json:"live_sessions"`
}

type budgetUsage struct {
	USD float64 `json:"usd"`
	Per string  `json:"per"`
}

// isUsagePath reports whether u is one of the usage routes.
func isUsagePath(u *url.URL) bool {
	if u.Path == adminUsagePath {
		return true
	}
	_, ok := usageID(u)
	return ok
}

// usageID returns the virtual key id of /admin/v1/virtual_keys/{id}/usage,
// percent-decoded.
func usageID(u *url.URL) (string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), adminAPIPrefix)
	if !ok {
		return "", false
	}
	escaped, ok := strings.CutSuffix(rest, usageSuffix)
	if !ok || escaped == "" || strings.Contains(escaped, "/") {
		return "", false
	}
	id, err := url.PathUnescape(escaped)
	return id, err == nil
}

// serveUsage answers a usage route: GET (405 otherwise), then the admin
// token (401), then a configured virtual key (404) for one key's route.
func (a *adminAPI) serveUsage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use GET on this path")
		return
	}
	if !a.authorized(r) {
		a.failures.refused(r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="realtimesecretd admin"`)
		writeJSONError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_admin_token",
			"send the admin token as Authorization: Bearer <admin.token>")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), usageTimeout)
	defer cancel()
	if r.URL.Path == adminUsagePath {
		all := make([]keyUsage, 0, len(a.usage.keys))
		for i := range a.usage.keys {
			ku, err := a.usage.of(ctx, &a.usage.keys[i])
			if err != nil {
				writeJSONError(w, http.StatusServiceUnavailable, "server_error", "usage_unavailable",
					"the store could not say what the virtual keys spent; try again shortly")
				return
			}
			all = append(all, ku)
		}
		writeJSON(w, http.StatusOK, map[string][]keyUsage{"virtual_keys": all})
		return
	}
	id, _ := usageID(r.URL)
	for i := range a.usage.keys {
		if a.usage.keys[i].ID != id {
			continue
		}
		ku, err := a.usage.of(ctx, &a.usage.keys[i])
		if err != nil {
			writeJSONError(w, http.StatusServiceUnavailable, "server_error", "usage_unavailable",
				"the store could not say what the virtual key spent; try again shortly")
			return
		}
		writeJSON(w, http.StatusOK, ku)
		return
	}
	writeJSONError(w, http.StatusNotFound, "invalid_request_error", "virtual_key_not_found",
		"no virtual key with this id is configured")
}

// of reads the usage of vk from the store.
func (u *usageReport) of(ctx context.Context, vk *VirtualKeyConfig) (keyUsage, error) {
	ku := keyUsage{ID: vk.ID}
	ids, err := u.registry.Sessions(ctx, vk.ID)
	if err != nil {
		return ku, err
	}
	ku.LiveSessions = len(ids)
	b := vk.Budget.core()
	if b.IsZero() || u.ledger == nil {
		return ku, nil
	}
	spend, err := u.ledger.Spent(ctx, vk.ID, b.Per)
	if err != nil {
		return ku, err
	}
	remaining := max(b.USD-spend.USD, 0)
	end := spend.PeriodStart.Add(b.Per)
	ku.Budget = &budgetUsage{USD: b.USD, Per: b.Per.String()}
	ku.SpentUSD, ku.RemainingUSD = &spend.USD, &remaining
	ku.PeriodStart, ku.PeriodEnd = &spend.PeriodStart, &end
	return ku, nil
}
