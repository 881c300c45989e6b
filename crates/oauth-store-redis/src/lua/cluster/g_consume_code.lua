-- Cluster, grant slot. ARGV: 2 grant tag, 3 code hash, 4 now, 5 grant tag the tokens
--       name, 6..13 tokens (their pointers written before, with NX).
-- One step, as in consume_code.lua: the code under `e` is checked unused and live,
-- marked used and the tokens stored, or nothing is written. Redis runs it alone, so of
-- concurrent redemptions exactly one finds the code unused.
local e, h, now = ARGV[2], ARGV[3], ARGV[4]
local ck = child_key(e, 'code', h)
local f = redis.call('HMGET', ck, 'exp', 'used', 'rec')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[2] == '1' then return {'used', f[3]} end
if not grant_live(e, now) then return {'notfound'} end
if ARGV[5] ~= e then return {'misuse', 'the tokens name another grant than the code'} end
local conflict = tokens_conflict_local(e, 6)
if conflict then return {'conflict', conflict} end
redis.call('HSET', ck, 'used', '1')
put_tokens_local(e, 6)
prune_kids(e)
return {'consumed'}
