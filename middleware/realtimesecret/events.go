package realtimesecret

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// MintEvent describes one request to a mint route, for Config.OnMint
// (logs, metrics). It holds no secret.
type MintEvent struct {
	// Provider is the provider name; "" when the request failed before one
	// was resolved.
	Provider string
	// Endpoint is the kind of mint.
	Endpoint Endpoint
	// Model is the requested model ("" when unknown or the default).
	Model string
	// Status is the HTTP status answered; 499 when the client went away
	// before the upstream answered.
	Status int
	// VirtualKeyID is the caller's virtual key or principal ID, if known.
	VirtualKeyID string
	// PrincipalKind, Policy and TokenID are the caller's Principal.Kind
	// ("virtual_key", "user"), Principal.Policy and Principal.TokenID (a
	// JWT's jti), when known, for the audit trail.
	PrincipalKind, Policy, TokenID string
	// KeyID is the upstream key used, if one was chosen.
	KeyID string
	// Duration is the time from the request to the answer.
	Duration time.Duration
	// UpstreamDuration is the time the provider call took (0 if none).
	UpstreamDuration time.Duration
	// Code is the code of the OpenAI-shaped error the middleware answered
	// (rate_limit_exceeded, invalid_api_key, ...); "" for a success and
	// for an upstream error passed on as the provider wrote it.
	Code string
	// Err is the internal cause of a failure, for logs; never sent to the
	// client.
	Err error
	// StoreErr is set when the record could not be stored.
	StoreErr error
}

// SessionEvent describes one request to a brokered session route, a
// creation (EndpointCall, EndpointLiveSession) or a hang-up, for
// Config.OnSession. It holds no secret. What a session used is reported
// at its end, in a UsageEvent.
type SessionEvent struct {
	// Provider is the provider name; "" when the request failed before one
	// was resolved.
	Provider string
	// Endpoint is the session route's endpoint.
	Endpoint Endpoint
	// SessionID is the call or session id: the one created, or the one
	// hung up.
	SessionID string
	// Model is the requested model ("" when unknown or the default).
	Model string
	// Status is the HTTP status answered; 499 when the client went away
	// before the upstream answered.
	Status int
	// VirtualKeyID is the caller's virtual key or principal ID, if known.
	VirtualKeyID string
	// PrincipalKind, Policy and TokenID are as in MintEvent.
	PrincipalKind, Policy, TokenID string
	// KeyID is the upstream key used, if one was chosen.
	KeyID string
	// Duration is the time from the request to the answer.
	Duration time.Duration
	// UpstreamDuration is the time the provider call took (0 if none).
	UpstreamDuration time.Duration
	// Code is the code of the OpenAI-shaped error the middleware answered
	// (too_many_sessions, session_not_found, ...); "" for a success and
	// for an upstream error passed on as the provider wrote it.
	Code string
	// Err is the internal cause of a failure, for logs; never sent to the
	// client.
	Err error
	// StoreErr is set when the session could not be recorded, tracked or
	// leased in the store or registry.
	StoreErr error
}

// RedeemEvent describes a passed-through request that carried an ephemeral
// token or named a brokered session, for Config.OnRedeem.
type RedeemEvent struct {
	// Request is the request as it will reach next (with the record in its
	// context when found).
	Request *http.Request
	// Record is the token's record when Found.
	Record Record
	// Found reports whether the token was known and not expired.
	Found bool
	// Err is set when the store could not answer.
	Err error
}

// reporter reports each answered route request once: a log line and the
// hook of its kind, a mint or a session request.
type reporter struct {
	log       *slog.Logger
	onMint    func(MintEvent)    // nil: none
	onSession func(SessionEvent) // nil: none
}

// report builds the event of out, an answer on a route of ep that took d,
// logs it and calls the hook.
func (rp *reporter) report(ctx context.Context, ep Endpoint, out *outcome, d time.Duration) {
	if ep.IsSession() {
		ev := SessionEvent{Provider: out.provider, Endpoint: ep, SessionID: out.sessionID, Model: out.model,
			Status: out.status(), VirtualKeyID: out.principal, KeyID: out.keyID, Duration: d,
			PrincipalKind: out.principalKind, Policy: out.policy, TokenID: out.tokenID,
			UpstreamDuration: out.upstream, Code: out.code(), Err: out.cause, StoreErr: out.storeErr}
		rp.logLine(ctx, "realtime session", ep, out, d)
		if rp.onSession != nil {
			rp.onSession(ev)
		}
		return
	}
	ev := MintEvent{Provider: out.provider, Endpoint: ep, Model: out.model, Status: out.status(),
		VirtualKeyID: out.principal, KeyID: out.keyID, Duration: d, UpstreamDuration: out.upstream,
		PrincipalKind: out.principalKind, Policy: out.policy, TokenID: out.tokenID,
		Code: out.code(), Err: out.cause, StoreErr: out.storeErr}
	rp.logLine(ctx, "realtime mint", ep, out, d)
	if rp.onMint != nil {
		rp.onMint(ev)
	}
}

// logLine writes the one log line of a route request: INFO, or WARN for
// a 5xx or a store failure.
func (rp *reporter) logLine(ctx context.Context, msg string, ep Endpoint, out *outcome, d time.Duration) {
	status := out.status()
	level := slog.LevelInfo
	if status >= 500 || out.storeErr != nil {
		level = slog.LevelWarn
	}
	if !rp.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("provider", out.provider),
		slog.String("endpoint", ep.String()),
		slog.Int("status", status),
		slog.String("virtual_key_id", out.principal),
		slog.String("key_id", out.keyID),
		slog.String("model", out.model),
		slog.Float64("duration_ms", millis(d)),
		slog.Float64("upstream_duration_ms", millis(out.upstream)),
	}
	// Who, for the audit trail: the kind, the policy and the credential's
	// ID (a jti), never the credential.
	for _, a := range [...]struct{ k, v string }{{"principal_kind", out.principalKind}, {"policy", out.policy}, {"token_id", out.tokenID}} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	if out.sessionID != "" {
		attrs = append(attrs, slog.String("session_id", out.sessionID))
	}
	if code := out.code(); code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if out.cause != nil {
		attrs = append(attrs, errAttr(out.cause))
	}
	if out.storeErr != nil {
		attrs = append(attrs, slog.String("store_error", out.storeErr.Error()))
	}
	rp.log.LogAttrs(ctx, level, msg, attrs...)
}

// millis is d in milliseconds, with microsecond precision, for log lines.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }
