-- Ends a principal's session: forgets it, its cap deadline and its lease,
-- in one step, so that of any number of callers on any number of nodes
-- exactly one sees it end.
--
-- KEYS[1..4] as in session_track.lua
-- ARGV[1]  the id
-- ARGV[2]  <len(principal)>:<principal>
-- Returns 1 when the session was tracked, 0 otherwise.
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2] .. ARGV[1])
if lease ~= '' then
  redis.call('ZREM', KEYS[3], lease)
end
return 1
