package realtimesecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Metering timings.
const (
	// meterBackoffStart and meterBackoffMax bound the wait before a dropped
	// sideband is opened again; it doubles per failure, with jitter, and
	// starts over once a connection delivered an event.
	meterBackoffStart = 100 * time.Millisecond
	meterBackoffMax   = 15 * time.Second
	// meterDrain is how long the sideband of a session the middleware
	// ended (hang-up, cap, revocation) is still read for its end and its
	// last usage.
	meterDrain = 5 * time.Second
)

// meters runs the metering of brokered sessions: one goroutine per
// metered session, which close stops and waits for. It holds no pointer to
// the Handler: it is given the registry that releases a session's lease,
// its clock, its logger and the hook that receives each report.
type meters struct {
	// sessions forgets a session whose sideband saw its end, releasing
	// its lease.
	sessions contract.SessionTracker
	now      func() time.Time
	log      *slog.Logger
	onUsage  func(UsageEvent) // nil: none
	// budgets prices each session's usage, takes a budgeted session's
	// cost to the ledger, and ends sessions over budget or unmetered.
	budgets *budgets
	// attachWait is how long a budgeted session's sideband may take to
	// attach before the session is ended (Config.SidebandAttachTimeout).
	attachWait time.Duration

	mu     sync.Mutex
	closed bool
	byID   map[string]*meter
	wg     sync.WaitGroup
}

// meter watches one session's sideband and sums its usage.
type meter struct {
	ms      *meters
	watcher contract.SessionWatcher
	req     contract.SessionRequest // Endpoint (the session's kind), SessionID, Key
	// principal holds the session's lease in the registry.
	principal string
	rec       Record
	// ctx ends when metering must stop: Handler.Close, the record's
	// expiry, the drain after the middleware ended the session.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	end      UsageEnd    // set when the middleware ends the session or stops metering
	drain    *time.Timer // armed once the middleware ended the session
	usage    Usage
	seen     map[string]struct{} // response ids summed
	reason   string
	attaches int
	err      error
	cost     sessionCost
	// spendErr is set once the ledger failed (logged once).
	spendErr bool
	// flush sends a cost that grew but was not due yet when the interval
	// has passed, so that a quiet session's cost reaches the ledger within
	// a second (and a failed send is tried again); flushes counts the
	// armed ones, and reported forbids more once the meter reports.
	flush    *time.Timer
	flushes  sync.WaitGroup
	reported bool
}

// start meters session id, watched with watcher and key, created by
// principal p and recorded as rec: its usage is priced at rec.Model's
// price, and with p's Budget goes to the ledger. Nothing starts once close
// was called.
func (ms *meters) start(watcher contract.SessionWatcher, key *Key, id string, p *Principal, rec Record) {
	ms.startFrom(watcher, key, id, p, rec, 0)
}

// startFrom is start for a session whose cost the ledger recorded as
// cost already: one adopted from a node that stopped. Its meter goes on
// from that cost; a GPT-Live session's running total of seconds adds only
// the seconds beyond what that cost paid for.
func (ms *meters) startFrom(watcher contract.SessionWatcher, key *Key, id string, p *Principal, rec Record, cost float64) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &meter{
		ms:        ms,
		watcher:   watcher,
		req:       contract.SessionRequest{Endpoint: rec.Endpoint, SessionID: id, Key: key},
		principal: p.ID,
		rec:       rec,
		ctx:       ctx,
		cancel:    cancel,
	}
	if ms.budgets != nil {
		m.cost.price, _ = ms.budgets.prices.lookup(rec.Model)
		m.cost.budget = p.Budget
		m.cost.goOnFrom(cost)
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.closed {
		cancel()
		return
	}
	if ms.byID == nil {
		ms.byID = make(map[string]*meter)
	}
	ms.byID[id] = m
	ms.wg.Add(1)
	go m.run()
}

// refs returns the sessions metered here, for the registry's watch.
func (ms *meters) refs() []contract.SessionRef {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make([]contract.SessionRef, 0, len(ms.byID))
	for id, m := range ms.byID {
		out = append(out, contract.SessionRef{Principal: m.principal, ID: id})
	}
	return out
}

// count returns how many sessions are being metered.
func (ms *meters) count() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.byID)
}

// usage returns the usage counted so far of session id, while it is
// metered here.
func (ms *meters) usage(id string) (u Usage, ok bool) {
	ms.mu.Lock()
	m := ms.byID[id]
	ms.mu.Unlock()
	if m == nil {
		return Usage{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usage, true
}

// ending tells the meter of session id, if there is one, that the
// middleware is ending the session for how. The returned func says
// whether it did: if so the sideband is read for the end for a while
// longer (meterDrain); if not, the session goes on being metered.
func (ms *meters) ending(id string, how UsageEnd) func(ok bool) {
	ms.mu.Lock()
	m := ms.byID[id]
	ms.mu.Unlock()
	if m == nil {
		return func(bool) {}
	}
	m.mu.Lock()
	set := m.end == ""
	if set {
		m.end = how
	}
	m.mu.Unlock()
	return func(ok bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		switch {
		case !ok && set && m.drain == nil:
			m.end = ""
		case ok && m.drain == nil:
			m.drain = time.AfterFunc(meterDrain, m.cancel)
		}
	}
}

// close stops every meter, each reporting what it counted, and waits for
// their goroutines. No meter starts afterwards.
func (ms *meters) close() {
	ms.mu.Lock()
	ms.closed = true
	all := make([]*meter, 0, len(ms.byID))
	for _, m := range ms.byID {
		all = append(all, m)
	}
	ms.mu.Unlock()
	for _, m := range all {
		m.stop(UsageStopped)
	}
	ms.wg.Wait()
}

// stop ends metering for end, unless the session's end is already known.
func (m *meter) stop(end UsageEnd) {
	m.mu.Lock()
	if m.end == "" {
		m.end = end
	}
	m.mu.Unlock()
	m.cancel()
}

func (m *meter) run() {
	defer m.ms.wg.Done()
	expiry := time.AfterFunc(m.rec.ExpiresAt.Sub(m.ms.now()), func() { m.stop(UsageExpired) })
	stopUnmetered := m.armUnmetered()
	ended := m.watch()
	expiry.Stop()
	stopUnmetered()
	m.report(ended)
}

// armUnmetered ends a budgeted session whose sideband has not attached
// within attachWait: nothing it costs would be counted. The returned func
// disarms it, waiting for an end under way.
func (m *meter) armUnmetered() (stop func()) {
	if !m.cost.budgeted() || m.ms.budgets == nil {
		return func() {}
	}
	fired := make(chan struct{})
	t := time.AfterFunc(m.ms.attachWait, func() {
		defer close(fired)
		m.mu.Lock()
		unmetered := m.attaches == 0 && m.end == ""
		m.mu.Unlock()
		if !unmetered {
			return
		}
		m.ms.budgets.endUnmetered(m.principal, &m.rec, m.req.SessionID)
		// Ended upstream, with no sideband to read its end from: metering
		// stops now rather than after the drain.
		m.mu.Lock()
		stop := m.end == usageUnmetered && m.attaches == 0
		m.mu.Unlock()
		if stop {
			m.cancel()
		}
	})
	return func() {
		if !t.Stop() {
			<-fired
		}
	}
}

// watch attaches the sideband, reads it, and attaches again when it
// drops, until the session ends (true) or metering is stopped (false).
func (m *meter) watch() bool {
	delay := meterBackoffStart
	for {
		sb, err := m.watcher.Watch(m.ctx, &m.req)
		switch {
		case errors.Is(err, contract.ErrSessionNotFound):
			return true
		case err != nil:
			m.fail(err)
		default:
			m.mu.Lock()
			m.attaches++
			m.mu.Unlock()
			ended, delivered := m.read(sb)
			if ended {
				return true
			}
			if delivered {
				delay = meterBackoffStart
			}
		}
		if !sleepCtx(m.ctx, jitter(delay)) {
			return false
		}
		delay = min(2*delay, meterBackoffMax)
	}
}

// read reads events from sb until the session ends (ended), the sideband
// drops or metering stops. delivered reports that an event arrived.
func (m *meter) read(sb contract.Sideband) (ended, delivered bool) {
	// Stopping closes the sideband with a closing handshake, which unblocks
	// Read: canceling Read's context would drop the connection instead.
	closed := make(chan struct{})
	stopClose := context.AfterFunc(m.ctx, func() {
		defer close(closed)
		_ = sb.Close()
	})
	defer func() {
		if stopClose() {
			_ = sb.Close()
		} else {
			<-closed
		}
	}()
	for {
		event, err := sb.Read(context.Background())
		switch {
		case err == nil:
		case m.ctx.Err() != nil:
			return false, delivered
		case errors.Is(err, contract.ErrSidebandClosed) && m.req.Endpoint == contract.EndpointCall:
			// A call's sideband is closed when the call ends. A Live
			// session ends with session.closed; a close without it is
			// reconnected, and the attach tells whether the session lives.
			return true, delivered
		default:
			m.fail(err)
			return false, delivered
		}
		delivered = true
		ended = m.handle(event)
		m.spend(ended)
		if ended {
			return true, true
		}
	}
}

func (m *meter) fail(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// sidebandEvent holds the members of the sideband events that metering
// reads: response.done (Realtime), session.usage.updated and
// session.closed (GPT-Live).
type sidebandEvent struct {
	Type     string `json:"type"`
	Response *struct {
		ID    string         `json:"id"`
		Usage *responseUsage `json:"usage"`
	} `json:"response"`
	Usage *struct {
		Seconds *float64 `json:"seconds"`
	} `json:"usage"`
	Reason string `json:"reason"`
}

var (
	typeResponseDone = []byte(`"response.done"`)
	typeUsageUpdated = []byte(`"session.usage.updated"`)
)

// errInvalidUsage is reported (UsageEvent.Err) when a sideband event's
// usage holds a count no provider sends: negative, or above maxTokenCount
// (maxSessionSeconds for seconds). The event is not counted.
var errInvalidUsage = errors.New("realtimesecret: the sideband reported a usage out of range; it was not counted")

// handle counts one sideband event and reports whether it says the session
// ended. Events other than the three metered ones are not decoded. A
// response is counted once per id; a running total of seconds never
// counts less than one seen before.
func (m *meter) handle(event []byte) (ended bool) {
	if !bytes.Contains(event, typeResponseDone) && !bytes.Contains(event, typeUsageUpdated) &&
		!bytes.Contains(event, typeSessionClosed) {
		return false
	}
	var ev sidebandEvent
	if json.Unmarshal(event, &ev) != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev.Type {
	case "response.done":
		if ev.Response == nil || ev.Response.Usage == nil {
			return false
		}
		if !validUsage(ev.Response.Usage) {
			m.err = errInvalidUsage
			return false
		}
		if id := ev.Response.ID; id != "" {
			if _, dup := m.seen[id]; dup {
				return false
			}
			if m.seen == nil {
				m.seen = make(map[string]struct{})
			}
			m.seen[id] = struct{}{}
		}
		m.usage.add(ev.Response.Usage)
		m.cost.response(ev.Response.Usage)
	case "session.usage.updated":
		if ev.Usage == nil || ev.Usage.Seconds == nil {
			return false
		}
		if s := *ev.Usage.Seconds; !validSeconds(s) {
			m.err = errInvalidUsage
		} else if s >= m.usage.Seconds {
			m.usage.Seconds = s
			m.cost.liveSeconds(s)
		}
	case "session.closed":
		if ev.Usage != nil && ev.Usage.Seconds != nil {
			if s := *ev.Usage.Seconds; !validSeconds(s) {
				m.err = errInvalidUsage
			} else {
				m.usage.Seconds = s // final
				m.cost.liveSeconds(s)
			}
		}
		m.reason = ev.Reason
		return true
	}
	return false
}

// spend takes the session's cost to the ledger when it is due (see
// sessionCost.due; final: the session ended or metering stops), and ends
// every session of the principal when the budget is spent. A ledger that
// fails is tried again with the next event: the cost it is sent is the
// session's running total, so nothing is lost or counted twice; meanwhile
// the budget is checked against what this session knows.
func (m *meter) spend(final bool) {
	ms := m.ms
	if ms.budgets == nil {
		return
	}
	now := ms.now()
	m.mu.Lock()
	if !m.cost.due(now, final) {
		if m.cost.budgeted() && m.cost.usd > m.cost.ledgered && m.flush == nil && !m.reported {
			m.flushes.Add(1)
			m.flush = time.AfterFunc(spendInterval-now.Sub(m.cost.sent), func() {
				defer m.flushes.Done()
				m.mu.Lock()
				m.flush = nil
				m.mu.Unlock()
				m.spend(false)
			})
		}
		m.mu.Unlock()
		return
	}
	m.cost.sent = now
	s := contract.SessionSpend{Principal: m.principal, ID: m.req.SessionID, USD: m.cost.usd,
		Per: m.cost.budget.Per, Expires: m.rec.ExpiresAt}
	m.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), spendTimeout)
	spent, err := ms.budgets.ledger.AddSpend(ctx, s)
	cancel()

	m.mu.Lock()
	before := m.cost.estimate() - (s.USD - m.cost.ledgered) // the spend before this session's growth
	logFailure := false
	if err == nil {
		before = spent.USD - (s.USD - m.cost.ledgered)
		m.cost.ledgered = max(m.cost.ledgered, s.USD)
		m.cost.spent = spent.USD
	} else {
		m.err = err
		logFailure = !m.spendErr
		m.spendErr = true
	}
	// A live session over budget ends them all; an ended one only when its
	// growth is what spent the budget.
	over := m.cost.estimate() >= m.cost.budget.USD && (!final || before < m.cost.budget.USD)
	m.mu.Unlock()
	if logFailure {
		ms.log.LogAttrs(ctx, slog.LevelWarn, "realtime session spend could not be recorded; retried with its next usage",
			errAttr(err), slog.String("session_id", s.ID), slog.String("virtual_key_id", s.Principal))
	}
	if over {
		ms.budgets.overBudget(m.principal, &m.rec, m.req.SessionID)
	}
}

func (u *Usage) add(r *responseUsage) {
	u.Responses++
	u.InputTokens += r.InputTokens
	u.OutputTokens += r.OutputTokens
	u.InputTokenDetails.AudioTokens += r.InputTokenDetails.AudioTokens
	u.InputTokenDetails.TextTokens += r.InputTokenDetails.TextTokens
	u.InputTokenDetails.ImageTokens += r.InputTokenDetails.ImageTokens
	u.InputTokenDetails.CachedTokens += r.InputTokenDetails.CachedTokens
	u.OutputTokenDetails.AudioTokens += r.OutputTokenDetails.AudioTokens
	u.OutputTokenDetails.TextTokens += r.OutputTokenDetails.TextTokens
}

// report ends the session's tracking when its sideband saw the end (its
// lease is released), then reports its usage, once.
func (m *meter) report(ended bool) {
	ms := m.ms
	m.mu.Lock()
	m.reported = true
	if m.flush != nil && m.flush.Stop() {
		m.flush = nil
		m.flushes.Done()
	}
	m.mu.Unlock()
	m.flushes.Wait()
	m.spend(true)
	if ended {
		m.endTracking()
	}
	m.mu.Lock()
	if m.drain != nil {
		m.drain.Stop()
	}
	switch {
	case ended && m.end == "":
		m.end = UsageEnded
	case m.end == "":
		m.end = UsageStopped
	}
	ev := UsageEvent{
		SessionID:  m.req.SessionID,
		Record:     m.rec,
		Usage:      m.usage,
		CostUSD:    m.cost.usd,
		End:        m.end,
		Reason:     m.reason,
		Duration:   ms.now().Sub(m.rec.CreatedAt),
		Reconnects: max(m.attaches-1, 0),
		Err:        m.err,
	}
	m.mu.Unlock()

	ms.mu.Lock()
	if ms.byID[ev.SessionID] == m {
		delete(ms.byID, ev.SessionID)
	}
	ms.mu.Unlock()
	m.cancel()
	ms.logUsage(&ev)
	if ms.onUsage != nil {
		ms.onUsage(ev)
	}
}

// endTracking ends the session's tracking, which releases its lease, once
// its sideband saw the end. When another caller ended it first (a cap
// claimed or a revocation made on another node), its end is reported as
// that caller recorded it, not as the provider's.
func (m *meter) endTracking() {
	ms := m.ms
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	m.mu.Lock()
	how := m.end
	m.mu.Unlock()
	if how == "" {
		how = UsageEnded
	}
	first, err := ms.sessions.End(ctx, m.principal, m.req.SessionID, string(how))
	if err != nil {
		ms.log.LogAttrs(ctx, slog.LevelWarn, "realtime session lease could not be released", errAttr(err),
			slog.String("session_id", m.req.SessionID))
		return
	}
	if first {
		return
	}
	// Without an answer the provider's end is reported: the usage line
	// must not wait for the registry.
	other, _ := ms.sessions.Ended(ctx, m.principal, m.req.SessionID)
	m.mu.Lock()
	if m.end == "" && other != "" {
		m.end = UsageEnd(other)
	}
	m.mu.Unlock()
}

// logUsage writes the one log line of a metered session.
func (ms *meters) logUsage(ev *UsageEvent) {
	ctx := context.Background()
	if !ms.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	u := &ev.Usage
	attrs := []slog.Attr{
		slog.String("session_id", ev.SessionID),
		slog.String("provider", ev.Record.Provider),
		slog.String("endpoint", ev.Record.Endpoint.String()),
		slog.String("model", ev.Record.Model),
		slog.String("key_id", ev.Record.KeyID),
		slog.String("virtual_key_id", ev.Record.VirtualKeyID),
		slog.String("end", string(ev.End)),
		slog.Float64("duration_ms", millis(ev.Duration)),
		slog.Float64("cost_usd", ev.CostUSD),
	}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", ev.Reason))
	}
	if ev.Record.Endpoint == contract.EndpointLiveSession {
		attrs = append(attrs, slog.Group("usage", slog.Float64("seconds", u.Seconds)))
	} else {
		attrs = append(attrs, slog.Group("usage",
			slog.Int("responses", u.Responses),
			slog.Int64("input_tokens", u.InputTokens),
			slog.Int64("input_audio_tokens", u.InputTokenDetails.AudioTokens),
			slog.Int64("input_text_tokens", u.InputTokenDetails.TextTokens),
			slog.Int64("input_image_tokens", u.InputTokenDetails.ImageTokens),
			slog.Int64("input_cached_tokens", u.InputTokenDetails.CachedTokens),
			slog.Int64("output_tokens", u.OutputTokens),
			slog.Int64("output_audio_tokens", u.OutputTokenDetails.AudioTokens),
			slog.Int64("output_text_tokens", u.OutputTokenDetails.TextTokens)))
	}
	if ev.Reconnects > 0 {
		attrs = append(attrs, slog.Int("reconnects", ev.Reconnects))
	}
	if ev.Err != nil {
		attrs = append(attrs, errAttr(ev.Err))
	}
	ms.log.LogAttrs(ctx, slog.LevelInfo, "realtime session usage", attrs...)
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1) //nolint:gosec // timing jitter, not a secret
}

// sleepCtx waits for d; false means ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
