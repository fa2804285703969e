// Package redisstore keeps realtimesecret token records and mint rate limits
// in Redis, so that several nodes share them: a token minted on one node is
// attributed on any other, and a virtual key's mint rate is one budget across
// all of them.
//
// A *Store implements realtimesecret.Store, realtimesecret.Pinger (for
// readiness checks) and realtimesecret.RateLimiter:
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
// token (realtimesecret.TokenHash), so a dump of Redis yields no usable token,
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
// Every operation touches a single key, so the Store works with Redis Cluster
// clients as well. It needs Redis 6.2 or later (SET EXAT).
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
