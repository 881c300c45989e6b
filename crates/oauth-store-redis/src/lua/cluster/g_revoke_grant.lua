-- Cluster, grant slot. ARGV: 2 grant tag, 3 owner field to check ('' for none, 'user'
--       or 'client'), 4 the owner it must name, 5 the TTL (ms) of the revocation marker
--       to leave if there is no grant record ('' for none). A grant whose record names
--       another owner is left alone ({'skip'}); a missing record still has its leftovers
--       removed and, when a revocation walking an index asks for it, leaves the marker
--       `P:{g:E}:revoked`: the index entry may be the hint of a creation whose grant-slot
--       script has not run yet, and that script then refuses to store the grant.
local e = ARGV[2]
if ARGV[3] ~= '' then
  local owner = redis.call('HGET', grant_key(e), ARGV[3])
  if owner and owner ~= ARGV[4] then return {'skip'} end
end
local missing = redis.call('EXISTS', grant_key(e)) == 0
local out = revoke_local(e)
if missing and ARGV[5] ~= '' then
  local k = revoked_key(e)
  redis.call('SET', k, '1', 'KEEPTTL')
  extend(k, ARGV[5])
end
return out
