package realtimesecret

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzMeterUsage feeds a sideband's events, one per line, to a priced
// meter, twice, as a sideband that attached again replays them. Whatever
// the counts (negative, huge, fractional, strings, totals that go back):
// the cost is never negative, NaN or infinite and never goes down, no
// count goes below zero, and the replay adds nothing unless it holds
// responses without an id (which cannot be told apart).
func FuzzMeterUsage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"response.done","response":{"id":"r1","usage":{"input_tokens":10,"output_tokens":4,"input_token_details":{"audio_tokens":6,"text_tokens":4,"cached_tokens":2},"output_token_details":{"audio_tokens":3,"text_tokens":1}}}}`,
		`{"type":"response.done","response":{"id":"r1","usage":{"input_tokens":-10,"output_tokens":4}}}`,
		`{"type":"response.done","response":{"id":"r2","usage":{"input_tokens":1000000000001,"output_tokens":1}}}`,
		`{"type":"response.done","response":{"id":"r3","usage":{"input_tokens":"12","output_tokens":1}}}`,
		`{"type":"response.done","response":{"id":"r4","usage":{"input_tokens":1.5}}}`,
		`{"type":"response.done","response":{"id":"r5","usage":{"input_tokens":1e300}}}`,
		`{"type":"response.done","response":{"usage":{"output_tokens":7,"output_token_details":{"audio_tokens":7}}}}`,
		`{"type":"response.done","response":{"id":"r6","usage":{"input_tokens":5,"input_token_details":{"cached_tokens":-3,"cached_tokens_details":{"audio_tokens":9}}}}}`,
		"{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":60}}\n{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":30}}",
		"{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":-1}}\n{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":1e308}}",
		"{\"type\":\"session.usage.updated\",\"usage\":{\"seconds\":\"5\"}}\n{\"type\":\"session.closed\",\"usage\":{\"seconds\":2}}",
		`{"type":"session.closed","usage":{"seconds":-7}}`,
		`not json response.done`,
	} {
		f.Add(seed)
	}
	price := builtinPrices["gpt-realtime"]
	price.PerSecond = builtinPrices["gpt-live-1"].PerSecond
	f.Fuzz(func(t *testing.T, events string) {
		m := &meter{}
		m.cost.price = &price
		lines := bytes.Split([]byte(events), []byte("\n"))
		last := 0.0
		feed := func() {
			for _, ev := range lines {
				m.handle(ev)
				c := m.cost.usd
				require.False(t, math.IsNaN(c) || math.IsInf(c, 0), "cost %v", c)
				require.GreaterOrEqual(t, c, last, "the cost went down")
				last = c
				u := &m.usage
				for _, n := range []int64{u.InputTokens, u.OutputTokens, u.InputTokenDetails.AudioTokens,
					u.InputTokenDetails.TextTokens, u.InputTokenDetails.ImageTokens, u.InputTokenDetails.CachedTokens,
					u.OutputTokenDetails.AudioTokens, u.OutputTokenDetails.TextTokens} {
					require.GreaterOrEqual(t, n, int64(0))
				}
				require.GreaterOrEqual(t, u.Seconds, 0.0)
				require.LessOrEqual(t, u.Seconds, float64(maxSessionSeconds))
			}
		}
		feed()
		first, responses := m.cost.usd, m.usage.Responses
		withoutID := responses - len(m.seen)
		feed()
		if withoutID == 0 {
			assert.InDelta(t, first, m.cost.usd, 0, "a replay was charged again")
			assert.Equal(t, responses, m.usage.Responses)
		}
	})
}
