-- Cluster, a user's or client's slot. ARGV: 2 'u' or 'c', 3 user or client tag,
--       4.. grant tags. Removes those entries (the grants were revoked or checked).
local idx
if ARGV[2] == 'u' then idx = user_index(ARGV[3]) else idx = client_index(ARGV[3]) end
for i = 4, #ARGV do redis.call('ZREM', idx, ARGV[i]) end
return {'ok'}
