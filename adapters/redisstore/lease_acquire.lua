-- Takes a lease of a principal when fewer than `limit` of its leases are
-- held, as realtimesecret.MemorySessionRegistry does. The principal's leases
-- are one sorted set, member the lease, score when it lapses in
-- milliseconds of the Redis clock (TIME), so that nodes with skewed clocks
-- agree on when a lease lapses.
--
-- KEYS[1]  the principal's leases
-- ARGV[1]  the lease
-- ARGV[2]  limit
-- ARGV[3]  milliseconds from now until the lease lapses
-- Returns 1 when the lease is held (taken, or refreshed when it was held
-- already), 0 when the principal's leases are all held.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[3])

if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('ZADD', KEYS[1], string.format('%d', expires), ARGV[1])
-- The set lives as long as its latest lease.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
