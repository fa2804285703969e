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
	CachedTokens int64
}

// OutputTokenDetails splits Usage.OutputTokens.
type OutputTokenDetails struct {
	AudioTokens int64
	TextTokens  int64
}

// UsageEnd is how a metered session ended, or why its metering stopped.
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
	// UsageExpired: its record expired before its end was seen; the
	// session may have gone on.
	UsageExpired UsageEnd = "expired"
	// UsageStopped: Handler.Close stopped metering; the session may go on.
	UsageStopped UsageEnd = "stopped"
)

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
