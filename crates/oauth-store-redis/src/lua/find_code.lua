-- ARGV: 2 code hash, 3 now.
local h, now = ARGV[2], ARGV[3]
local e = locate('code', h)
if not e then return {'notfound'} end
local f = redis.call('HMGET', child_key(e, 'code', h), 'exp', 'used', 'rec')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[2] == '1' then return {'used', f[3]} end
if not grant_live(e, now) then return {'notfound'} end
return {'active', f[3]}
