-- Cluster, grant slot. ARGV: 2 grant tag (from the pointer), 3 access token hash, 4 now.
local e, h, now = ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', child_key(e, 'at', h), 'exp', 'rec')
if not f[1] or expired(f[1], now) then return {'notfound'} end
local g = redis.call('HMGET', grant_key(e), 'exp', 'rec')
if not g[1] or expired(g[1], now) then return {'notfound'} end
return {'ok', f[2], g[2]}
