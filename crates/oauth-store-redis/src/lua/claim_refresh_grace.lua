-- ARGV: 2 retired refresh hash, 3 now. The grace is taken whether or not it is still
-- live: it is handed out at most once.
local h, now = ARGV[2], ARGV[3]
local e = locate('rt', h)
if not e then return {'none'} end
local rk = child_key(e, 'rt', h)
local g = redis.call('HMGET', rk, 'grace', 'grace_until')
if not g[1] or not g[2] then return {'none'} end
redis.call('HDEL', rk, 'grace', 'grace_until')
if expired(g[2], now) then return {'none'} end
return {'grace', g[1]}
