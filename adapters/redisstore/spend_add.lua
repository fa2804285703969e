-- Records a metered session's running cost and adds what it grew by to
-- its principal's spend in the current budget period, as
-- memory.SessionRegistry.AddSpend does. Costs are whole micro-dollars;
-- periods are fixed windows of `per` milliseconds of the Redis clock
-- (TIME), aligned to the Unix epoch, so every node agrees on them.
--
-- KEYS[1]  the session's recorded cost (string, micro-dollars)
-- ARGV[1]  the start of every period key: Prefix .. "{gov}:spend:"; a
--          period's key is ARGV[1] .. per .. ":" .. start .. ":" .. principal
-- ARGV[2]  the principal
-- ARGV[3]  the session's running cost, micro-dollars
-- ARGV[4]  per, milliseconds
-- ARGV[5]  milliseconds from now until the session's cost may be forgotten
-- Returns the principal's spend in the period (micro-dollars) and the
-- period's start (milliseconds).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per = tonumber(ARGV[4])
local start = now - (now % per)
local period = ARGV[1] .. string.format('%d', per) .. ':' .. string.format('%d', start) .. ':' .. ARGV[2]

local cost = tonumber(ARGV[3])
local prev = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local spent
if cost > prev then
  -- A late or repeated call carries a total at or below the recorded one
  -- and adds nothing: a session is never counted twice.
  spent = redis.call('INCRBY', period, string.format('%d', cost - prev))
  -- The period is kept a minute past its end, for the reports.
  redis.call('PEXPIREAT', period, string.format('%d', start + per + 60000))
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
else
  spent = tonumber(redis.call('GET', period) or '0') or 0
end
return {spent, start}
