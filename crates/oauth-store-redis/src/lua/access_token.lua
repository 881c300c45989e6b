-- ARGV: 2 access token hash, 3 now. The token with its grant, both unexpired.
local h, now = ARGV[2], ARGV[3]
local e = locate('at', h)
if not e then return {'notfound'} end
local f = redis.call('HMGET', child_key(e, 'at', h), 'exp', 'rec')
if not f[1] or expired(f[1], now) then return {'notfound'} end
local g = redis.call('HMGET', grant_key(e), 'exp', 'rec')
if not g[1] or expired(g[1], now) then return {'notfound'} end
return {'ok', f[2], g[2]}
