-- ARGV: 2 code hash, 3 now, 4 grant tag the tokens name, 5..12 tokens.
-- One step: the code is checked unused and live, marked used (its TTL, and so the
-- tombstone's life, unchanged) and the tokens stored, or nothing is written.
local h, now = ARGV[2], ARGV[3]
local e = locate('code', h)
if not e then return {'notfound'} end
local ck = child_key(e, 'code', h)
local f = redis.call('HMGET', ck, 'exp', 'used', 'rec')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[2] == '1' then return {'used', f[3]} end
if not grant_live(e, now) then return {'notfound'} end
if ARGV[4] ~= e then return {'misuse', 'the tokens name another grant than the code'} end
local conflict = tokens_conflict(5)
if conflict then return {'conflict', conflict} end
redis.call('HSET', ck, 'used', '1')
put_tokens(e, 5)
prune(kids_key(e), 8, function(m) return kid_member_key(e, m) end)
prune(EXPIRY, 8, expiry_member_key)
return {'consumed'}
