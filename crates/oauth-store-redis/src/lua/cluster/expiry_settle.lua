-- Cluster, the expiry index's slot. ARGV: 2 member, 3 the score purge read, 4 the new
--       score ('' to remove). Changes the entry only if nobody changed it since it was
--       read: a writer that lowered it meanwhile keeps its lower score.
local current = redis.call('ZSCORE', EXPIRY, ARGV[2])
if not current or tonumber(current) ~= tonumber(ARGV[3]) then return {'ok'} end
if ARGV[4] == '' then
  redis.call('ZREM', EXPIRY, ARGV[2])
else
  redis.call('ZADD', EXPIRY, ARGV[4], ARGV[2])
end
return {'ok'}
