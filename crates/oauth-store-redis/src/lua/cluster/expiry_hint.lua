-- Cluster, the expiry index's slot. ARGV: 2 member (`grant:E` or `once:<ns>:<hex>`),
--       3 earliest expiry, 4 ttl, 5 latest expiry, 6 now (the writer's).
-- Lowers (never raises) the member's score in `P:expiry` to the earliest expiry under it,
-- raises (never lowers) its score in `P:{P:expiry}:latest` to the latest, lengthens both
-- TTLs, and drops (from both) up to 16 members whose latest expiry is at or before `now`:
-- everything under them has expired, and each record has a TTL no longer than its life,
-- so purge has nothing left to do there that the server does not do itself. Writers
-- thus keep the index bounded by the live grants and markers without any purge.
redis.call('ZADD', EXPIRY, 'LT', ARGV[3], ARGV[2])
extend(EXPIRY, ARGV[4])
redis.call('ZADD', EXPIRY_LATEST, 'GT', ARGV[5], ARGV[2])
extend(EXPIRY_LATEST, ARGV[4])
local gone = redis.call('ZRANGEBYSCORE', EXPIRY_LATEST, '-inf', ARGV[6], 'LIMIT', 0, 16)
for _, m in ipairs(gone) do
  redis.call('ZREM', EXPIRY, m)
  redis.call('ZREM', EXPIRY_LATEST, m)
end
return {'ok'}
