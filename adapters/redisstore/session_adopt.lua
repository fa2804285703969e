-- Claims up to `limit` metered sessions whose watch lapsed: the node that
-- metered them stopped renewing it. Each claimed watch is extended for
-- the caller, so that each session is adopted by one node; a watch whose
-- session is no longer tracked is dropped.
--
-- KEYS[1]  the watches (session_track.lua)
-- ARGV[1]  milliseconds from the Redis clock's now to the caller's now
-- ARGV[2]  limit
-- ARGV[3]  the start of every governance key (session_claim.lua)
-- ARGV[4]  milliseconds from the caller's now until the claimed watches
--          lapse
-- Returns principal, id, lease and milliseconds from the caller's now to
-- the session's expiry, for each session claimed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now + tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local till = string.format('%d', cutoff + tonumber(ARGV[4]))

local out = {}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', cutoff), 'LIMIT', 0, limit)
for _, m in ipairs(lapsed) do
  local colon = string.find(m, ':', 1, true)
  local plen = colon and tonumber(string.sub(m, 1, colon - 1))
  local lease = nil
  local principal, id
  if plen then
    principal = string.sub(m, colon + 1, colon + plen)
    id = string.sub(m, colon + plen + 1)
    lease = redis.call('HGET', ARGV[3] .. 'slease:' .. principal, id)
  end
  local expires = lease and tonumber(redis.call('ZSCORE', ARGV[3] .. 'sess:' .. principal, id))
  if expires and expires > now then
    redis.call('ZADD', KEYS[1], till, m)
    out[#out + 1] = principal
    out[#out + 1] = id
    out[#out + 1] = lease
    out[#out + 1] = expires - cutoff
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
