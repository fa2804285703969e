-- Extends the watch of a node's metered sessions that are still watched:
-- the node says it still meters them. Times are milliseconds of the Redis
-- clock.
--
-- KEYS[1]  the watches (session_track.lua)
-- ARGV[1]  milliseconds from now until the watches lapse
-- ARGV[2…] the members of the sessions, <len(principal)>:<principal><id>
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local till = string.format('%d', now + tonumber(ARGV[1]))
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', till, ARGV[i])
end
return 1
