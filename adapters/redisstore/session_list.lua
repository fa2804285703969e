-- Returns the ids of a principal's sessions that have not expired on the
-- Redis clock.
--
-- KEYS[1]  the principal's sessions (session_track.lua)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf')
