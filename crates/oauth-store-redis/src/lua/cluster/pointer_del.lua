-- Cluster, the pointer's slot. ARGV: 2 kind, 3 hash, 4 grant tag. Deletes the pointer
-- only if it names that grant.
local k = loc_key(ARGV[2], ARGV[3])
if redis.call('GET', k) == ARGV[4] then redis.call('DEL', k) end
return {'ok'}
