-- Cluster, grant slot. ARGV: 2 grant tag, 3 old refresh hash, 4 now, 5 grant tag the
--       successor names, 6 '1' if a grace is kept, 7 sealed successor, 8 grace until,
--       9..16 successor tokens (their pointers written before, with NX).
-- One compare-and-swap, as in rotate_refresh.lua.
local e, h, now = ARGV[2], ARGV[3], ARGV[4]
local rk = child_key(e, 'rt', h)
local f = redis.call('HMGET', rk, 'exp', 'rec', 'retired')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[3] then return {'reused', f[2]} end
if not grant_live(e, now) then return {'notfound'} end
if ARGV[5] ~= e then return {'misuse', 'the successor names another grant than the token'} end
local conflict = tokens_conflict_local(e, 9)
if conflict then return {'conflict', conflict} end
redis.call('HSET', rk, 'retired', now)
if ARGV[6] == '1' then
  redis.call('HSET', rk, 'grace', ARGV[7], 'grace_until', ARGV[8])
end
put_tokens_local(e, 9)
prune_kids(e)
return {'rotated'}
