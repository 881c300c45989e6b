-- ARGV: 2 refresh token hash, 3 now. A tombstone answers for its grant until its own
-- expiry, even after the grant's.
local h, now = ARGV[2], ARGV[3]
local e = locate('rt', h)
if not e then return {'notfound'} end
local f = redis.call('HMGET', child_key(e, 'rt', h), 'exp', 'rec', 'retired')
if not f[1] or expired(f[1], now) then return {'notfound'} end
if f[3] then return {'retired', f[2], f[3]} end
if not grant_live(e, now) then return {'notfound'} end
return {'active', f[2]}
