package realtimesecret

import (
	"net/http"
	"time"
)

// MintEvent describes one request to a mint route or a brokered session
// route (a creation or a hang-up), for Config.OnMint (logs, metrics). It
// holds no secret.
type MintEvent struct {
	// Provider is the provider name; "" when the request failed before one
	// was resolved.
	Provider string
	// Endpoint is the route's endpoint kind.
	Endpoint Endpoint
	// Model is the requested model ("" when unknown or the default).
	Model string
	// Status is the HTTP status answered; 499 when the client went away
	// before the upstream answered.
	Status int
	// VirtualKeyID is the caller's virtual key or principal ID, if known.
	VirtualKeyID string
	// KeyID is the upstream key used, if one was chosen.
	KeyID string
	// Duration is the time from the request to the answer.
	Duration time.Duration
	// UpstreamDuration is the time the provider call took (0 if none).
	UpstreamDuration time.Duration
	// SessionID is the call or session id of a brokered session: the one
	// created, or the one hung up.
	SessionID string
	// Code is the code of the OpenAI-shaped error the middleware answered
	// (too_many_sessions, rate_limit_exceeded, invalid_api_key, ...); ""
	// for a success and for an upstream error passed on as the provider
	// wrote it.
	Code string
	// Err is the internal cause of a failure, for logs; never sent to the
	// client.
	Err error
	// StoreErr is set when the record could not be stored.
	StoreErr error
}

// RedeemEvent describes a passed-through request that carried an ephemeral
// token, for Config.OnRedeem.
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
