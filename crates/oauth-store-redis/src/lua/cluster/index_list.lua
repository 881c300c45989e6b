-- Cluster, a user's or client's slot. ARGV: 2 'u' or 'c', 3 user or client tag.
-- Returns the index's PTTL (ms) and the grant tags it lists. Every add lengthens the
-- index's TTL to the grant's lifetime, so the PTTL outlasts every grant listed: it is the
-- TTL of the revocation marker left for a listed grant that has no record (yet).
local idx
if ARGV[2] == 'u' then idx = user_index(ARGV[3]) else idx = client_index(ARGV[3]) end
local out = {tostring(redis.call('PTTL', idx))}
for _, e in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  table.insert(out, e)
end
return out
