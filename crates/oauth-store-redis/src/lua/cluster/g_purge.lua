-- Cluster, grant slot. ARGV: 2 grant tag, 3 now, 4 budget (>= 1).
-- Deletes what is expired under grant `e` at `now`: its expired records, or, once the
-- grant itself is expired (or gone), everything under it, records first, the grant last.
-- Returns {status, removed, next, user, client, member...}: status 'live' (the grant
-- stays; `next` is the earliest expiry left under it, '' if none), 'more' (the budget ran
-- out) or 'gone'; the members (`kind:hash`) name the pointers to clean up.
local e, now, budget = ARGV[2], ARGV[3], tonumber(ARGV[4])
local removed = 0
local out = {'', 0, '', '', ''}
local gexp = redis.call('HGET', grant_key(e), 'exp')
if gexp and not expired(gexp, now) then
  local due = redis.call('ZRANGEBYSCORE', kids_key(e), '-inf', now, 'LIMIT', 0, budget)
  for _, m in ipairs(due) do
    local kind, h = string.match(m, '^(%a+):(%x+)$')
    if kind then
      local exp = redis.call('HGET', child_key(e, kind, h), 'exp')
      if not exp or expired(exp, now) then
        removed = removed + del_child_local(e, kind, h)
        table.insert(out, m)
      end
    else
      redis.call('ZREM', kids_key(e), m)
    end
    if removed >= budget then break end
  end
  local first = redis.call('ZRANGE', kids_key(e), 0, 0, 'WITHSCORES')
  local next = gexp
  if first[2] and tonumber(first[2]) < tonumber(gexp) then next = first[2] end
  if removed >= budget then out[1] = 'more' else out[1] = 'live' end
  out[2] = tostring(removed)
  out[3] = next
  return out
end
-- Members whose record is gone already (by TTL) cost nothing: keep taking members until
-- the budget is used or none is left; the grant goes only once none is.
while removed < budget do
  local kids = redis.call('ZRANGE', kids_key(e), 0, budget - removed - 1)
  if #kids == 0 then break end
  for _, m in ipairs(kids) do
    local kind, h = string.match(m, '^(%a+):(%x+)$')
    if kind then
      removed = removed + del_child_local(e, kind, h)
      table.insert(out, m)
    else
      redis.call('ZREM', kids_key(e), m)
    end
  end
end
if redis.call('EXISTS', kids_key(e)) == 1 then
  out[1] = 'more'
  out[2] = tostring(removed)
  return out
end
local meta = redis.call('HMGET', grant_key(e), 'user', 'client')
out[4] = meta[1] or ''
out[5] = meta[2] or ''
if removed >= budget and gexp then
  out[1] = 'more'
  out[2] = tostring(removed)
  return out
end
removed = removed + redis.call('DEL', grant_key(e))
redis.call('DEL', kids_key(e))
out[1] = 'gone'
out[2] = tostring(removed)
return out
