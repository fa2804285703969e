// Package memory holds the in-process implementations of the contract
// interfaces: Store (token and session records, with per-entry expiry),
// SessionRegistry (leases, tracked sessions and cap deadlines) and a GCRA
// RateLimiter. The middleware uses them when its Config leaves the
// matching field nil; limits and caps they keep hold for one process.
// adapters/redisstore implements the same interfaces across nodes.
package memory
