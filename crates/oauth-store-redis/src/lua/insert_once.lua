-- ARGV: 2 namespace tag, 3 key hex, 4 exp, 5 ttl, 6 now. 1 if the marker was absent (or
-- expired at `now`) and is now stored; 0, changing nothing, if it is live.
local ns, h = ARGV[2], ARGV[3]
local k = once_key(ns, h)
local current = redis.call('GET', k)
if current and not expired(current, ARGV[6]) then return 0 end
redis.call('SET', k, ARGV[4], 'PX', ARGV[5])
redis.call('ZADD', EXPIRY, ARGV[4], 'once:' .. ns .. ':' .. h)
extend(EXPIRY, ARGV[5])
prune(EXPIRY, 8, expiry_member_key)
return 1
