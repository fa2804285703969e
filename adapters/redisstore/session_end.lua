-- Ends a principal's session: forgets it, its cap deadline and its lease,
-- in one step, so that of any number of callers on any number of nodes
-- exactly one sees it end, and records how it ended until it would have
-- expired.
--
-- KEYS[1..5] as in session_track.lua
-- KEYS[6]  how the session ended: string, read by Ended
-- ARGV[1]  the id
-- ARGV[2]  <len(principal)>:<principal>
-- ARGV[3]  how it ended
-- Returns 1 when the session was tracked, 0 otherwise.
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then
  return 0
end
local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2] .. ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[2] .. ARGV[1])
if lease ~= '' then
  redis.call('ZREM', KEYS[3], lease)
end
if expires then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if expires > now then
    redis.call('SET', KEYS[6], ARGV[3], 'PX', string.format('%d', expires - now))
  end
end
return 1
