-- Cluster, the marker's slot. ARGV: 2 namespace tag, 3 key hex, 4 exp, 5 ttl, 6 now.
-- As insert_once.lua, without the expiry index (the store adds its hint).
local k = once_key(ARGV[2], ARGV[3])
local current = redis.call('GET', k)
if current and not expired(current, ARGV[6]) then return 0 end
redis.call('SET', k, ARGV[4], 'PX', ARGV[5])
return 1
