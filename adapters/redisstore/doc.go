// Package redisstore keeps realtimesecret token records, mint rate limits and
// session governance in Redis, so that several nodes share them: a token
// minted on one node is attributed on any other, a virtual key's mint rate
// is one budget across all of them, and so are its concurrent sessions, its
// session caps and their revocation.
//
// A *Store implements contract.Store, contract.Pinger (for
// readiness checks), contract.RateLimiter and
// contract.SessionRegistry (the Handler uses a Store that is one
// without further configuration):
//
//	store, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	cfg.Store = store
//	cfg.RateLimiter = store
//
// # Keys and values
//
// A token record lives at Prefix + "tok:" + the lowercase hex SHA-256 of the
// token (contract.TokenHash), so a dump of Redis yields no usable token,
// and expires on the Redis side at the record's ExpiresAt (SET ... EXAT). Hex
// costs 32 bytes per key over raw bytes and buys keys that redis-cli, SCAN
// patterns and logs show as they are. The value is a small versioned binary
// form of the Record (about 40 bytes for a typical one; see the package tests),
// not JSON: it is read on every redemption and never by people.
//
// A rate limit lives at Prefix + "rl:" + the virtual key or principal ID. Each
// check is one Lua script (GCRA, as the in-process limiter) run with EVALSHA,
// so a check reads and updates the limit in one atomic step, and the script
// reads the Redis server clock (TIME), so nodes with skewed clocks still share
// one schedule. The key expires when its budget is full again.
//
// # Session governance
//
// The keys of session governance live under Prefix + "{gov}:", the
// principal (a virtual key or Principal ID) ending each per-principal key, so
// that any bytes are safe in it:
//
//	lease:<principal>   sorted set: lease -> when it lapses
//	sess:<principal>    sorted set: session id -> when it is forgotten
//	slease:<principal>  hash: session id -> the lease it holds ("" for none)
//	due                 sorted set: <len(principal)>:<principal><id> -> cap deadline
//
// Each call is one round trip: Acquire, Track, End, Sessions and ClaimDue are
// each one Lua script, Release one ZREM. Acquire drops lapsed leases, counts
// the rest and adds the lease in one step, so nodes share MaxSessions and no
// two can both take the last slot. End forgets a session with its deadline
// and lease and says whether it did, so exactly one caller on any node sees a
// session end. ClaimDue removes due deadlines from the one "due" set as it
// returns them, so every node claims caps and each cap is enforced by exactly
// one of them, including caps set by a node that has since stopped. Times
// cross the wire as offsets from the calling node's clock and are kept on the
// Redis clock (TIME), so nodes with skewed clocks agree on when a lease lapses
// or a cap falls due; they are kept in whole milliseconds. The per-principal
// keys expire with their latest entry; a deadline stays in "due" until it is
// claimed or its session ends.
//
// Token records and rate limits touch a single key each; the governance keys
// share the hash tag {gov}, so that the scripts that touch several of them
// (ClaimDue reaches the sessions of any principal) stay within one slot. The
// Store therefore works with Redis Cluster clients as well. It needs Redis 6.2
// or later (SET EXAT).
//
// # Timeouts and faults
//
// Every call runs under its own deadline (Options.Timeout, 250 ms by default)
// so that a slow or unreachable Redis fails a call quickly instead of holding
// the mint. A client built by NewFromURL has ContextTimeoutEnabled set, which
// makes go-redis apply that deadline to the socket; a client passed to New
// should have it set too, or its own ReadTimeout and WriteTimeout bound a
// stalled call instead. Failed calls return errors; the middleware then logs
// them and goes on with the mint unless Config.StrictStore is set. go-redis
// reconnects on its own, so nothing needs restarting when Redis comes back.
package redisstore
