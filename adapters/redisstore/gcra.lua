-- GCRA, as the in-process limiter of realtimesecret: a key holds its
-- theoretical arrival time (TAT) in microseconds of the Redis clock. A
-- request is allowed while the TAT is at most `tolerance` ahead of now, and
-- then moves it on by `interval`; that admits a burst of Requests and then
-- one request per interval.
--
-- KEYS[1]  the limit's key
-- ARGV[1]  interval: Per/Requests, in microseconds (at least 1)
-- ARGV[2]  tolerance: Per - interval, in microseconds (at least 0)
-- Returns {1, 0} when allowed, {0, microseconds until allowed} otherwise.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])

local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local allow_at = tat - tolerance
if now < allow_at then
  return {0, allow_at - now}
end
tat = tat + interval
-- The key is worth keeping only until the budget is full again; after
-- that an absent key means the same thing.
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
return {1, 0}
