package realtimesecret

import "time"

// Usage is what a metered brokered session used, as its sideband reported
// it. A Realtime call reports tokens, a GPT-Live session seconds.
type Usage struct {
	// InputTokens and OutputTokens are the sums of response.usage over the
	// call's distinct responses (response.done events, one per response id).
	InputTokens  int64
	OutputTokens int64
	// InputTokenDetails and OutputTokenDetails are the sums of the
	// details; cached tokens are part of InputTokens.
	InputTokenDetails  InputTokenDetails
	OutputTokenDetails OutputTokenDetails
	// Responses is how many responses were summed.
	Responses int
	// Seconds is a GPT-Live session's audio duration: the final total of
	// session.closed, else the last running total of
	// session.usage.updated. Running totals are never added up; a lower one
	// than already seen (a replay after a reconnect) is ignored.
	Seconds float64
}

// InputTokenDetails splits Usage.InputTokens.
type InputTokenDetails struct {
	AudioTokens  int64
	TextTokens   int64
	ImageTokens  int64
	CachedTokens int64
}

// OutputTokenDetails splits Usage.OutputTokens.
type OutputTokenDetails struct {
	AudioTokens int64
	TextTokens  int64
}

// UsageEnd is how a metered session ended, or why its metering stopped.
// Besides the constants below it may be "unmetered": the session's
// principal has a budget, and its sideband did not attach within
// Config.SidebandAttachTimeout, so the middleware ended it upstream (nothing
// it cost could have been counted).
type UsageEnd string

// The ends of a metered session.
const (
	// UsageEnded: the provider said the session ended: a Realtime call's
	// sideband closed normally, a GPT-Live session.closed arrived, or the
	// provider no longer knows the session. Its lease is then released.
	UsageEnded UsageEnd = "ended"
	// UsageHangup: it was hung up through the broker's hang-up route.
	UsageHangup UsageEnd = "hangup"
	// UsageCap: its MaxSession cap ended it.
	UsageCap UsageEnd = "cap"
	// UsageRevoked: EndSessions ended it.
	UsageRevoked UsageEnd = "revoked"
	// UsageBudget: its principal's Budget was spent (by its usage or
	// another session's), and the middleware ended it.
	UsageBudget UsageEnd = "budget"
	// UsageExpired: its record expired before its end was seen; the
	// session may have gone on.
	UsageExpired UsageEnd = "expired"
	// UsageStopped: Handler.Close stopped metering; the session may go on.
	UsageStopped UsageEnd = "stopped"
)

// usageUnmetered: a budgeted session whose sideband did not attach in
// time was ended (see UsageEnd). Not exported: the package keeps its
// names few; UsageEnd's comment documents the value.
const usageUnmetered UsageEnd = "unmetered"

// UsageEvent reports the usage of one metered session, once, at its end,
// for Config.OnUsage. It holds no secret.
type UsageEvent struct {
	// SessionID is the call or session id.
	SessionID string
	// Record attributes the session: provider, model, upstream key, virtual
	// key, endpoint (EndpointCall or EndpointLiveSession), creation.
	Record Record
	// Usage is what the sideband reported.
	Usage Usage
	// CostUSD is what Usage cost at the model's price (the built-in table
	// and Config.Prices), in US dollars; 0 when the model has no price. A
	// GPT-Live session's seconds are priced at the active rate. It only
	// grows while the session runs: a running total that goes back, or an
	// event seen twice, adds nothing.
	CostUSD float64
	// End is how the session ended, or why metering stopped.
	End UsageEnd
	// Reason is the provider's reason for the end when it gave one (a
	// session.closed reason such as "close_requested" or "expired").
	Reason string
	// Duration is from the session's creation to its end (or to when
	// metering stopped).
	Duration time.Duration
	// Reconnects counts the sideband connections that dropped and were
	// opened again.
	Reconnects int
	// Err is the last sideband failure, if any, for logs; a sideband
	// failure never affects the session itself.
	Err error
}

// responseUsage is a Realtime response.usage as a sideband sends it
// (response.done); metering sums it into a Usage and prices it.
type responseUsage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	InputTokenDetails struct {
		AudioTokens         int64 `json:"audio_tokens"`
		TextTokens          int64 `json:"text_tokens"`
		ImageTokens         int64 `json:"image_tokens"`
		CachedTokens        int64 `json:"cached_tokens"`
		CachedTokensDetails struct {
			AudioTokens int64 `json:"audio_tokens"`
			TextTokens  int64 `json:"text_tokens"`
			ImageTokens int64 `json:"image_tokens"`
		} `json:"cached_tokens_details"`
	} `json:"input_token_details"`
	OutputTokenDetails struct {
		AudioTokens int64 `json:"audio_tokens"`
		TextTokens  int64 `json:"text_tokens"`
	} `json:"output_token_details"`
}
