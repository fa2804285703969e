-- Records a live session of a principal, as
-- realtimesecret.MemorySessionRegistry.Track does. Times are milliseconds
-- of the Redis clock (TIME).
--
-- KEYS[1]  the principal's sessions: sorted set, member the id, score when
--          the session is forgotten on its own
-- KEYS[2]  the principal's session leases: hash, id -> lease ("" for none)
-- KEYS[3]  the principal's leases (lease_acquire.lua)
-- KEYS[4]  the deadlines of every principal: sorted set, member
--          <len(principal)>:<principal><id>, score the cap deadline
-- KEYS[5]  the watches of every principal's metered sessions: sorted set,
--          members as KEYS[4]'s, score until when the metering node
--          vouches for the session
-- ARGV[1]  the id
-- ARGV[2]  the lease
-- ARGV[3]  milliseconds from now until the session is forgotten
-- ARGV[4]  milliseconds from now until its cap, "" for no cap
-- ARGV[5]  <len(principal)>:<principal>, the start of its deadline member
-- ARGV[6]  milliseconds from now until its watch lapses, "" for none
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Forget what expired on its own, with the leases it held.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local lease = redis.call('HGET', KEYS[2], id)
  if lease and lease ~= '' then
    redis.call('ZREM', KEYS[3], lease)
  end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[4], ARGV[5] .. id)
  redis.call('ZREM', KEYS[5], ARGV[5] .. id)
end

redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[3])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[4], ARGV[5] .. ARGV[1])
else
  redis.call('ZADD', KEYS[4], string.format('%d', now + tonumber(ARGV[4])), ARGV[5] .. ARGV[1])
end
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[5], ARGV[5] .. ARGV[1])
else
  redis.call('ZADD', KEYS[5], string.format('%d', now + tonumber(ARGV[6])), ARGV[5] .. ARGV[1])
end
-- Both live as long as the principal's latest session, or its leases if
-- they last longer: a session that expired is forgotten with its lease by
-- the next Track, as long as that lease is held.
local last = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
local leases = redis.call('PTTL', KEYS[3])
if leases > 0 and now + leases > last then
  last = now + leases
end
redis.call('PEXPIREAT', KEYS[1], string.format('%d', last))
redis.call('PEXPIREAT', KEYS[2], string.format('%d', last))
return 1
