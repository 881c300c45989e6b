-- ARGV: 2 old refresh hash, 3 now, 4 grant tag the successor names, 5 '1' if a grace is
--       kept, 6 sealed successor, 7 grace until, 8..15 successor tokens.
-- One compare-and-swap: the old token is checked active and live, retired (its TTL, and
-- so the tombstone's life, unchanged) and the successor stored, or nothing is written.
local h, now = ARGV[2], ARGV[3]
local e = locate('rt', h)
if not e then return {'notfound'} end
local rk = child_key(e, 'rt', h)
local f = redis.call('HMGET', rk, 'exp', 'rec', 'retired')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[3] then return {'reused', f[2]} end
if not grant_live(e, now) then return {'notfound'} end
if ARGV[4] ~= e then return {'misuse', 'the successor names another grant than the token'} end
local conflict = tokens_conflict(8)
if conflict then return {'conflict', conflict} end
redis.call('HSET', rk, 'retired', now)
if ARGV[5] == '1' then
  redis.call('HSET', rk, 'grace', ARGV[6], 'grace_until', ARGV[7])
end
put_tokens(e, 8)
prune(kids_key(e), 8, function(m) return kid_member_key(e, m) end)
prune(EXPIRY, 8, expiry_member_key)
return {'rotated'}
