package realtimesecret

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// records keeps who minted each token and who created each brokered
// session, in the Store, and opens sealed tokens.
type records struct {
	store  contract.Store
	sealer *sealer // nil without SealKeys
	// used marks single-use tokens used: the Store's own marker, or an
	// in-process one.
	used contract.UseMarker
	now  func() time.Time
	// storeExpires is set when store is a memory.Store on time.Now's
	// clock: its Get drops expired records itself.
	storeExpires bool
}

// token returns the record of a minted token. A token that is unknown or
// expired is (Record{}, false, nil); err means the store could not answer.
// A sealed token is opened instead: one that is forged, truncated or
// expired is (Record{}, false, nil).
func (rs *records) token(ctx context.Context, token string) (Record, bool, error) {
	if rs.sealer != nil && strings.HasPrefix(token, sealedPrefix) {
		_, rec, err := rs.sealer.open(token, rs.now())
		return rec, err == nil, nil
	}
	return rs.get(ctx, contract.HashToken(token))
}

// session returns the record of a brokered session: who created it with
// which key, when, and until when it is kept.
func (rs *records) session(ctx context.Context, id string) (Record, bool, error) {
	return rs.get(ctx, hashSessionID(id))
}

func (rs *records) get(ctx context.Context, h contract.TokenHash) (Record, bool, error) {
	rec, ok, err := rs.store.Get(ctx, h)
	if err != nil || !ok {
		return Record{}, false, err
	}
	// A memory.Store checks expiry with time.Now already; a second clock
	// read was a fifth of a lookup. Other stores may keep a record a
	// little past its expiry (Redis rounds TTLs), and tests move now.
	if !rs.storeExpires && !rs.now().Before(rec.ExpiresAt) {
		return Record{}, false, nil
	}
	return rec, true, nil
}

func (rs *records) putToken(ctx context.Context, token string, rec Record) error {
	return rs.store.Put(ctx, contract.HashToken(token), rec)
}

func (rs *records) putSession(ctx context.Context, id string, rec Record) error {
	return rs.store.Put(ctx, hashSessionID(id), rec)
}

// sessionDomain starts what hashSessionID hashes. No token starts with it
// (tokens start with "ek_"), so a session id and a token never share a
// TokenHash in one Store.
const sessionDomain = "realtimesecret session\x00"

// hashSessionID returns the TokenHash a brokered session's Record is stored
// under: a SHA-256 of the call or session id in a namespace of its own, so
// that it never collides with a token's HashToken.
func hashSessionID(id string) contract.TokenHash {
	var buf [len(sessionDomain) + 128]byte // ids are at most 128 bytes (validSessionID)
	if len(id) > 128 {
		return sha256.Sum256([]byte(sessionDomain + id))
	}
	n := copy(buf[:], sessionDomain)
	n += copy(buf[n:], id)
	return sha256.Sum256(buf[:n])
}

// markUsed marks a single-use token used until it expires, and reports
// whether this was its first use.
func (rs *records) markUsed(ctx context.Context, token string, expires time.Time) (bool, error) {
	return rs.used.MarkUsed(ctx, contract.HashToken(token), expires)
}
