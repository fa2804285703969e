package contract

import (
	"context"
	"crypto/sha256"
	"time"
	"unsafe"
)

// Record says who minted a token, or created a brokered session, with
// which upstream key. It is what FromContext returns for a request that
// redeems the token or names the session.
type Record struct {
	// KeyID is the ID of the upstream Key the token was minted with.
	KeyID string
	// VirtualKeyID is the ID of the VirtualKey or Principal that minted it;
	// "" when minting is open.
	VirtualKeyID string
	// Provider is the configured provider name.
	Provider string
	// Model is the model sent upstream (after aliases); "" for the
	// provider's default.
	Model string
	// Endpoint is the kind of mint.
	Endpoint Endpoint
	// ExpiresAt is when the token expires, as the upstream said; for a
	// brokered session, when its record is dropped (CreatedAt plus
	// Config.SessionLifetime).
	ExpiresAt time.Time
	// CreatedAt is when a brokered session was created upstream; zero for
	// a minted token.
	CreatedAt time.Time

	// PrincipalKind is the kind of caller VirtualKeyID names:
	// "virtual_key", "user" (adapters/oidc), or what an Authorizer set in
	// Principal.Kind; "" in records written before kinds were recorded.
	PrincipalKind string
	// MaxSessions, MaxSession and GovernanceFailOpen are the principal's
	// session limits when the token was minted (Principal's fields of the
	// same names), so that a redemption of the token (a WebSocket, a call
	// created with it) counts against them on any node, without asking
	// the Authorizer again.
	MaxSessions        int
	MaxSession         time.Duration
	GovernanceFailOpen bool
	// SingleUse says the token may be redeemed through the middleware
	// once: every later redemption is refused (Principal.SingleUse).
	SingleUse bool
	// Budget is the principal's budget when the token was minted
	// (Principal.Budget), for principals not configured as virtual keys
	// (a virtual key's is taken as configured now): a call created with
	// the token, or a session adopted by another node, is checked against
	// it and spends it, without asking the Authorizer again.
	Budget Budget
}

// TokenHash identifies a token in a Store: the SHA-256 of the token, so a
// dump of the store yields no usable tokens.
type TokenHash [sha256.Size]byte

// HashToken returns the TokenHash of token.
func HashToken(token string) TokenHash {
	// sha256.Sum256 reads its argument and keeps nothing, so the string's
	// bytes can be hashed in place instead of copied to a new slice.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// Store keeps token records until they expire. Implementations must be safe
// for concurrent use and should honour ctx deadlines.
type Store interface {
	// Put stores rec under h until rec.ExpiresAt.
	Put(ctx context.Context, h TokenHash, rec Record) error
	// Get returns the record stored under h. A missing or expired record is
	// (Record{}, false, nil); err is for a store that could not answer.
	Get(ctx context.Context, h TokenHash) (Record, bool, error)
}

// UseMarker is implemented by stores that can mark a token used, for
// single-use secrets (Record.SingleUse). The middleware uses the Store's
// when it implements it (memory.Store and adapters/redisstore do), else an
// in-process one, which holds on one node only.
type UseMarker interface {
	// MarkUsed marks h used until until, when the mark may be forgotten,
	// and reports whether this call marked it first: of every call for h
	// before until, on every node that shares the store, exactly one is
	// first. err is for a store that could not answer.
	MarkUsed(ctx context.Context, h TokenHash, until time.Time) (first bool, err error)
}

// Pinger is implemented by stores that can report whether they are
// reachable, for readiness checks.
type Pinger interface {
	Ping(ctx context.Context) error
}
