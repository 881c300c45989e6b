-- Cluster, grant slot. ARGV: 2 grant tag, 3 '1' to create the grant, 4 grant exp,
--       5 grant ttl, 6 grant record, 7 user tag, 8 client tag, 9..16 tokens (their
--       pointers, and for a new grant its index hints, written before), 17 the tokens'
--       issue time (`now`).
local e = ARGV[2]
if ARGV[3] == '1' then
  if exists_any(grant_key(e), kids_key(e)) then
    return {'conflict', 'a grant with this id exists already'}
  end
  if redis.call('EXISTS', revoked_key(e)) == 1 then
    return {'conflict', 'a revocation of this grant ran while it was being created'}
  end
elseif not grant_live(e, ARGV[17]) then
  return {'conflict', 'the grant no longer exists or has expired'}
end
local conflict = tokens_conflict_local(e, 9)
if conflict then return {'conflict', conflict} end
if ARGV[3] == '1' then
  put_grant_local(e, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
end
put_tokens_local(e, 9)
prune_kids(e)
return {'ok'}
