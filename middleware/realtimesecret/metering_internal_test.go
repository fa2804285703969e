package realtimesecret

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// chanSideband delivers the events sent on its channel; closing the
// channel is the provider closing the sideband.
type chanSideband struct {
	events    chan []byte
	closeOnce sync.Once
	closed    chan struct{}
}

func newChanSideband() *chanSideband {
	return &chanSideband{events: make(chan []byte, 16), closed: make(chan struct{})}
}

func (s *chanSideband) Read(ctx context.Context) ([]byte, error) {
	select {
	case ev, ok := <-s.events:
		if !ok {
			return nil, contract.ErrSidebandClosed
		}
		return ev, nil
	case <-s.closed:
		return nil, contract.ErrSidebandClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *chanSideband) Write(context.Context, []byte) error { return nil }

func (s *chanSideband) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// oneSideband attaches sb once, then answers that the session is gone.
type oneSideband struct {
	mu sync.Mutex
	sb contract.Sideband
}

func (w *oneSideband) Watch(context.Context, *contract.SessionRequest) (contract.Sideband, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sb := w.sb
	w.sb = nil
	if sb == nil {
		return nil, contract.ErrSessionNotFound
	}
	return sb, nil
}

// newTestMeters returns meters on a memory registry and clock whose
// reports arrive on the channel.
func newTestMeters(t *testing.T) (*meters, *memory.SessionRegistry, *testClock, chan UsageEvent) {
	reg := memory.NewSessionRegistry()
	clock := &testClock{t: time.Unix(1_800_000_000, 0)}
	reports := make(chan UsageEvent, 4)
	ms := &meters{sessions: reg, now: clock.now, log: slog.New(slog.DiscardHandler), onUsage: func(ev UsageEvent) { reports <- ev }}
	t.Cleanup(ms.close)
	return ms, reg, clock, reports
}

func awaitReport(t *testing.T, reports chan UsageEvent) UsageEvent {
	t.Helper()
	select {
	case ev := <-reports:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no usage report")
		return UsageEvent{}
	}
}

// TestMetersSumACallOnceAtItsEnd: a call's responses are summed once per
// response id, its end releases its tracked session, and its duration is
// on the meters' clock.
func TestMetersSumACallOnceAtItsEnd(t *testing.T) {
	ms, reg, clock, reports := newTestMeters(t)
	ctx := context.Background()
	created := clock.now()
	require.NoError(t, reg.Track(ctx, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: created.Add(time.Hour)}))
	sb := newChanSideband()
	rec := Record{Provider: "openai", KeyID: "k", VirtualKeyID: "web", Endpoint: contract.EndpointCall, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	ms.start(&oneSideband{sb: sb}, &Key{ID: "k"}, "rtc_1", &Principal{ID: "web"}, rec)
	assert.Equal(t, 1, ms.count())

	done := func(id string, in, out int64) []byte {
		return []byte(`{"type":"response.done","response":{"id":"` + id + `","usage":{"input_tokens":` +
			itoa(in) + `,"output_tokens":` + itoa(out) + `,"input_token_details":{"cached_tokens":1}}}}`)
	}
	sb.events <- done("resp_1", 10, 20)
	sb.events <- done("resp_1", 10, 20) // a replay after a reconnect
	sb.events <- []byte(`{"type":"response.audio.delta","delta":"AAAA"}`)
	sb.events <- done("resp_2", 5, 7)
	require.Eventually(t, func() bool {
		u, ok := ms.usage("rtc_1")
		return ok && u.Responses == 2
	}, 10*time.Second, time.Millisecond)
	clock.add(90 * time.Second)
	close(sb.events) // the call ended

	ev := awaitReport(t, reports)
	assert.Equal(t, UsageEnded, ev.End)
	assert.Equal(t, Usage{InputTokens: 15, OutputTokens: 27, InputTokenDetails: InputTokenDetails{CachedTokens: 2}, Responses: 2}, ev.Usage)
	assert.Equal(t, 90*time.Second, ev.Duration)
	assert.Equal(t, "rtc_1", ev.SessionID)
	ids, err := reg.Sessions(ctx, "web")
	require.NoError(t, err)
	assert.Empty(t, ids, "the ended session's tracking and lease are released")
	assert.Zero(t, ms.count())
}

// TestMetersCloseReportsWhatWasCounted: close stops every meter, each
// reporting once with UsageStopped, and no meter starts afterwards.
func TestMetersCloseReportsWhatWasCounted(t *testing.T) {
	ms, _, clock, reports := newTestMeters(t)
	sb := newChanSideband()
	rec := Record{Endpoint: contract.EndpointLiveSession, CreatedAt: clock.now(), ExpiresAt: clock.now().Add(time.Hour)}
	ms.start(&oneSideband{sb: sb}, &Key{ID: "k"}, "sess_1", &Principal{ID: "web"}, rec)
	sb.events <- []byte(`{"type":"session.usage.updated","usage":{"seconds":12.5}}`)
	require.Eventually(t, func() bool { u, _ := ms.usage("sess_1"); return u.Seconds == 12.5 }, 10*time.Second, time.Millisecond)

	ms.close()
	ev := awaitReport(t, reports)
	assert.Equal(t, UsageStopped, ev.End)
	assert.InDelta(t, 12.5, ev.Usage.Seconds, 0)

	ms.start(&oneSideband{sb: newChanSideband()}, &Key{ID: "k"}, "sess_2", &Principal{ID: "web"}, rec)
	assert.Zero(t, ms.count(), "nothing starts after close")
	select {
	case ev := <-reports:
		t.Fatalf("unexpected report %+v", ev)
	default:
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
