package realtimesecret

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

func TestPriceLookup(t *testing.T) {
	ps := newPrices(map[string]contract.Price{
		"My-Deployment": {AudioInput: 1},
		"gpt-realtime":  {AudioInput: 2}, // replaces the built-in entry
	})
	for _, tc := range []struct {
		model, want string // want: the entry's name, "" for none
	}{
		{model: "gpt-realtime", want: "gpt-realtime"},
		{model: "GPT-Realtime", want: "gpt-realtime"},
		{model: "gpt-realtime-2025-08-28", want: "gpt-realtime"},
		{model: "gpt-realtime-1.5", want: "gpt-realtime"},
		{model: "gpt-realtime-2", want: "gpt-realtime-2"},
		{model: "gpt-realtime-2.1", want: "gpt-realtime-2"},
		{model: "gpt-realtime-2025", want: "gpt-realtime"},
		{model: "gpt-realtime-mini", want: "gpt-realtime-mini"},
		{model: "gpt-realtime-mini-2025-12-15", want: "gpt-realtime-mini"},
		{model: "gpt-realtime-2.1-mini", want: "gpt-realtime-2.1-mini"},
		{model: "gpt-live-1", want: "gpt-live-1"},
		{model: "gpt-live-1.1", want: "gpt-live-1"},
		{model: "gpt-4o-transcribe", want: "gpt-4o-transcribe"},
		{model: "gpt-4o-mini-transcribe-2025-12-15", want: "gpt-4o-mini-transcribe"},
		{model: "my-deployment", want: "my-deployment"},
		{model: "gpt-realtimex", want: ""},
		{model: "gpt-realtime-", want: ""},
		{model: "gpt-realtime-preview", want: ""},
		{model: "gpt-realtime-whisper", want: ""},
		{model: "whisper-1", want: ""},
		{model: "", want: ""},
		{model: "gpt", want: ""},
	} {
		p, ok := ps.lookup(tc.model)
		if tc.want == "" {
			assert.False(t, ok, "%q has no price", tc.model)
			continue
		}
		require.True(t, ok, "%q", tc.model)
		want, found := ps.lookup(tc.want)
		require.True(t, found)
		assert.Same(t, want, p, "%q is priced as %q", tc.model, tc.want)
	}
	p, _ := ps.lookup("gpt-realtime-2025-08-28")
	assert.InDelta(t, 2.0, p.AudioInput, 0, "Config.Prices replaced the built-in entry")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = ps.lookup("gpt-realtime-mini-2025-12-15") }))
}

func TestBuiltinPricesAreValid(t *testing.T) {
	for name, p := range builtinPrices {
		assert.Empty(t, validPrice(&p), name)
		assert.LessOrEqual(t, p.CachedAudioInput, p.AudioInput, "%s: cached audio is a fraction of audio", name)
		assert.LessOrEqual(t, p.CachedTextInput, p.TextInput, name)
	}
	rt := builtinPrices["gpt-realtime"]
	assert.Less(t, rt.CachedAudioInput, rt.AudioInput/50, "cached audio input is a small fraction of audio input")
}

func TestValidPrice(t *testing.T) {
	assert.Empty(t, validPrice(&contract.Price{}))
	assert.Equal(t, "is negative", validPrice(&contract.Price{TextOutput: -0.01}))
	assert.Equal(t, "is not a number", validPrice(&contract.Price{PerSecond: math.NaN()}))
	assert.Equal(t, "is not a number", validPrice(&contract.Price{ImageInput: math.Inf(1)}))
	assert.Equal(t, "is above 1e6 dollars per unit", validPrice(&contract.Price{AudioOutput: 2e6}))
}

func usageOf(t *testing.T, js string) *responseUsage {
	t.Helper()
	var u responseUsage
	require.NoError(t, json.Unmarshal([]byte(js), &u))
	return &u
}

func TestResponseCost(t *testing.T) {
	rt := builtinPrices["gpt-realtime"]
	for _, tc := range []struct {
		name  string
		usage string
		want  float64 // dollars times 1e6
	}{
		{name: "nothing", usage: `{}`, want: 0},
		{name: "split input and output",
			usage: `{"input_tokens":30,"output_tokens":12,"input_token_details":{"text_tokens":10,"audio_tokens":15,"image_tokens":5},` +
				`"output_token_details":{"text_tokens":2,"audio_tokens":10}}`,
			want: 10*4 + 15*32 + 5*5 + 2*16 + 10*64},
		{name: "cached, split by the details",
			usage: `{"input_tokens":100,"input_token_details":{"text_tokens":40,"audio_tokens":60,"cached_tokens":50,` +
				`"cached_tokens_details":{"text_tokens":20,"audio_tokens":30}}}`,
			want: 20*4 + 20*0.4 + 30*32 + 30*0.4},
		{name: "cached, unsplit: taken off text first, whose discount is smallest",
			usage: `{"input_tokens":100,"input_token_details":{"text_tokens":40,"audio_tokens":60,"cached_tokens":50}}`,
			want:  40*0.4 + 10*0.4 + 50*32},
		{name: "cached beyond the tokens of any kind is not discounted",
			usage: `{"input_tokens":10,"input_token_details":{"cached_tokens":10}}`,
			want:  10 * 32},
		{name: "input and output without details at the dearest kind",
			usage: `{"input_tokens":10,"output_tokens":10}`,
			want:  10*32 + 10*64},
		{name: "details above the totals count as they are",
			usage: `{"input_tokens":1,"output_tokens":1,"input_token_details":{"audio_tokens":5},"output_token_details":{"text_tokens":5}}`,
			want:  5*32 + 5*16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want/1e6, responseCost(&rt, usageOf(t, tc.usage)), 1e-12)
		})
	}
}
