-- Returns a principal's spend in the current budget period (micro-dollars)
-- and the period's start (milliseconds of the Redis clock), as
-- spend_add.lua keeps them.
--
-- KEYS[1]  any key of the {gov} slot, so that a cluster client routes the
--          script to the node that holds the period
-- ARGV[1]  the start of every period key (spend_add.lua)
-- ARGV[2]  the principal
-- ARGV[3]  per, milliseconds
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per = tonumber(ARGV[3])
local start = now - (now % per)
local period = ARGV[1] .. string.format('%d', per) .. ':' .. string.format('%d', start) .. ':' .. ARGV[2]
return {tonumber(redis.call('GET', period) or '0') or 0, start}
