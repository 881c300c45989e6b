-- Cluster, the marker's slot. ARGV: 2 namespace tag, 3 key hex, 4 now.
-- {'gone', deleted} if the marker is expired at `now` (now deleted) or absent;
-- {'live', 0, exp} if it is not.
local k = once_key(ARGV[2], ARGV[3])
local exp = redis.call('GET', k)
if not exp then return {'gone', '0'} end
if expired(exp, ARGV[4]) then
  redis.call('DEL', k)
  return {'gone', '1'}
end
return {'live', '0', exp}
