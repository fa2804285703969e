package realtimesecret

import (
	"math"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Spend timings and bounds.
const (
	// spendInterval is how often at most a metered session's cost goes to
	// the SpendLedger while it grows: at once when the growth may spend
	// the budget, else batched to one round trip a second per session.
	spendInterval = time.Second
	// spendTimeout bounds one SpendLedger call from a meter.
	spendTimeout = 2 * time.Second
	// maxTokenCount bounds a token count of one response; a larger one
	// (or a negative one) is not a usage the provider sends, and its
	// event is not counted.
	maxTokenCount = 1e12
	// maxSessionSeconds bounds a GPT-Live running total (about 31 years).
	maxSessionSeconds = 1e9
)

// sessionCost is the running cost of one metered session: what its usage
// cost so far at its model's price, and what of it the SpendLedger holds.
// The meter that owns it guards it.
type sessionCost struct {
	price  *contract.Price // nil: the model has no price, nothing is added
	budget contract.Budget // zero: the principal has none, nothing is ledgered
	// usd is the cost so far. It only grows: a running total that goes
	// back, or an event counted already, adds nothing.
	usd float64
	// seconds is the GPT-Live running total priced so far.
	seconds float64
	// ledgered is the cost the ledger acknowledged; spent is the
	// principal's spend it answered then.
	ledgered, spent float64
	// sent is when the cost last went to the ledger.
	sent time.Time
}

// goOnFrom makes the cost go on from usd, which the ledger holds already.
func (c *sessionCost) goOnFrom(usd float64) {
	if !(usd > 0) || c.price == nil {
		return
	}
	c.usd, c.ledgered = usd, usd
	if c.price.PerSecond > 0 {
		c.seconds = usd / c.price.PerSecond
	}
}

// response adds one response's usage.
func (c *sessionCost) response(u *responseUsage) {
	if c.price != nil {
		c.usd += responseCost(c.price, u)
	}
}

// liveSeconds prices a GPT-Live running total: the seconds it adds to the
// highest total seen, none when it goes back.
func (c *sessionCost) liveSeconds(total float64) {
	if total <= c.seconds {
		return
	}
	if c.price != nil {
		c.usd += (total - c.seconds) * c.price.PerSecond
	}
	c.seconds = total
}

// budgeted reports whether the cost goes to a ledger.
func (c *sessionCost) budgeted() bool { return !c.budget.IsZero() }

// due reports whether the cost should go to the ledger at now: it grew
// since the ledger last acknowledged it, and a spendInterval has passed
// or the growth may spend the budget (final: the session ended).
func (c *sessionCost) due(now time.Time, final bool) bool {
	if !c.budgeted() || c.usd <= c.ledgered {
		return false
	}
	return final || now.Sub(c.sent) >= spendInterval || c.estimate() >= c.budget.USD
}

// estimate is the principal's spend as this session knows it: what the
// ledger last answered, with what this session added since.
func (c *sessionCost) estimate() float64 { return c.spent + c.usd - c.ledgered }

// validUsage reports whether every count of u is one a provider sends:
// whole, not negative, at most maxTokenCount. (A fraction or a string
// fails to decode before.)
func validUsage(u *responseUsage) bool {
	in, out := &u.InputTokenDetails, &u.OutputTokenDetails
	for _, n := range [...]int64{u.InputTokens, u.OutputTokens, in.AudioTokens, in.TextTokens, in.ImageTokens,
		in.CachedTokens, in.CachedTokensDetails.TextTokens, in.CachedTokensDetails.AudioTokens,
		in.CachedTokensDetails.ImageTokens, out.AudioTokens, out.TextTokens} {
		if n < 0 || n > maxTokenCount {
			return false
		}
	}
	return true
}

// validSeconds reports whether s is a GPT-Live total a provider sends.
func validSeconds(s float64) bool {
	return s >= 0 && s <= maxSessionSeconds && !math.IsNaN(s)
}
