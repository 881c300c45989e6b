-- Cluster, grant slot. ARGV: 2 grant tag, 3 grant exp, 4 grant ttl, 5 grant record,
--       6 user tag ('' for none), 7 client tag, 8 code hash, 9 code exp, 10 code ttl,
--       11 code record. The code's pointer and the index hints are written before.
local e = ARGV[2]
if exists_any(grant_key(e), kids_key(e)) then
  return {'conflict', 'a grant with this id exists already'}
end
-- A revocation walked an index that listed this grant (its hint, written first) before
-- this script ran, and found no record: storing it now would leave a live grant no index
-- lists. Refused (the caller answers 503); the marker expires with the index.
if redis.call('EXISTS', revoked_key(e)) == 1 then
  return {'conflict', 'a revocation of this grant ran while it was being created'}
end
put_grant_local(e, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
put_child_local(e, 'code', ARGV[8], ARGV[9], ARGV[10], ARGV[11])
return {'ok'}
