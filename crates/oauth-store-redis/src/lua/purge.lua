-- ARGV: 2 now, 3 budget (records to delete, >= 1), 4 most expiry-index entries to
-- examine. Returns {deleted, more}: more is 0 once nothing expired at `now` is left.
-- An expired grant goes with everything under it: its records first, each counted, then
-- the grant; a grant whose records exceed the budget stays for the next call.
local now, budget, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local removed, examined = 0, 0
while removed < budget and examined < cap do
  local batch = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now, 'LIMIT', 0, 64)
  if #batch == 0 then return {removed, 0} end
  for _, m in ipairs(batch) do
    examined = examined + 1
    local kind, a, b = string.match(m, '^(%a+):([^:]*):?(.*)$')
    if kind == 'grant' then
      -- Members whose record is gone already (by TTL) cost nothing: keep taking members
      -- until the budget is used or none is left, and take the grant only once none is.
      while removed < budget do
        local kids = redis.call('ZRANGE', kids_key(a), 0, budget - removed - 1)
        if #kids == 0 then break end
        for _, k in ipairs(kids) do
          local kk, hh = string.match(k, '^(%a+):(%x+)$')
          if kk then
            removed = removed + del_child(a, kk, hh)
          else
            redis.call('ZREM', kids_key(a), k)
          end
        end
      end
      if removed >= budget then return {removed, 1} end
      removed = removed + revoke(a)
    elseif kind == 'once' then
      removed = removed + redis.call('DEL', once_key(a, b))
      redis.call('ZREM', EXPIRY, m)
    elseif kind == 'code' or kind == 'at' or kind == 'rt' then
      removed = removed + del_child(a, kind, b)
    else
      redis.call('ZREM', EXPIRY, m)
    end
    if removed >= budget or examined >= cap then return {removed, 1} end
  end
end
return {removed, 1}
