-- Cluster, grant slot. ARGV: 2 grant tag (from the pointer), 3 refresh hash, 4 now.
local e, h, now = ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', child_key(e, 'rt', h), 'exp', 'rec', 'retired')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[3] then return {'retired', f[2], f[3]} end
if not grant_live(e, now) then return {'notfound'} end
return {'active', f[2]}
