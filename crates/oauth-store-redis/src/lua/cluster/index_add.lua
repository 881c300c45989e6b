-- Cluster, a user's or client's slot. ARGV: 2 'u' or 'c', 3 user or client tag, 4 grant
--       tag, 5 grant exp (the score), 6 ttl, 7 now. Adds the hint, lengthens the index's
--       TTL, and drops the entries of grants expired at `now`: the index stays bounded
--       by the live grants.
local idx
if ARGV[2] == 'u' then idx = user_index(ARGV[3]) else idx = client_index(ARGV[3]) end
redis.call('ZADD', idx, ARGV[5], ARGV[4])
extend(idx, ARGV[6])
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[7])
return {'ok'}
