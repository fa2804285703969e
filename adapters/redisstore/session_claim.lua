-- Claims up to `limit` cap deadlines that are due: removes them from the
-- deadlines set and returns their sessions, so that each deadline is
-- claimed once, by one node. The sessions stay tracked (with their leases)
-- until the node that claimed them ends them. A deadline whose session is
-- no longer tracked is dropped.
--
-- KEYS[1]  the deadlines (session_track.lua)
-- ARGV[1]  milliseconds from the Redis clock's now to the caller's now
-- ARGV[2]  limit
-- ARGV[3]  the start of every governance key (Prefix .. "{gov}:"): the
--          sessions of principal p are at ARGV[3] .. "sess:" .. p and
--          their leases at ARGV[3] .. "slease:" .. p
-- Returns principal, id, lease and milliseconds from the caller's now to
-- the session's expiry, for each session claimed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now + tonumber(ARGV[1])
local limit = tonumber(ARGV[2])

local out, n = {}, 0
while n < limit do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', cutoff), 'LIMIT', 0, limit - n)
  if #due == 0 then
    break
  end
  for _, m in ipairs(due) do
    redis.call('ZREM', KEYS[1], m)
    local colon = string.find(m, ':', 1, true)
    local plen = colon and tonumber(string.sub(m, 1, colon - 1))
    if plen then
      local principal = string.sub(m, colon + 1, colon + plen)
      local id = string.sub(m, colon + plen + 1)
      local lease = redis.call('HGET', ARGV[3] .. 'slease:' .. principal, id)
      if lease then
        local expires = tonumber(redis.call('ZSCORE', ARGV[3] .. 'sess:' .. principal, id)) or cutoff
        out[#out + 1] = principal
        out[#out + 1] = id
        out[#out + 1] = lease
        out[#out + 1] = expires - cutoff
        n = n + 1
      end
    end
  end
end
return out
