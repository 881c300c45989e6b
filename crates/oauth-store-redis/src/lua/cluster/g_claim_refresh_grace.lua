-- Cluster, grant slot. ARGV: 2 grant tag (from the pointer), 3 retired refresh hash,
--       4 now. Taken whether or not still live: handed out at most once.
local e, h, now = ARGV[2], ARGV[3], ARGV[4]
local rk = child_key(e, 'rt', h)
local g = redis.call('HMGET', rk, 'grace', 'grace_until')
if not g[1] or not g[2] then return {'none'} end
redis.call('HDEL', rk, 'grace', 'grace_until')
if expired(g[2], now) then return {'none'} end
return {'grace', g[1]}
