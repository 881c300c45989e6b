-- ARGV: 2 grant tag, 3 grant exp, 4 grant ttl, 5 grant record, 6 user tag ('' for none),
--       7 client tag, 8 code hash, 9 code exp, 10 code ttl, 11 code record.
local e = ARGV[2]
if redis.call('EXISTS', grant_key(e), kids_key(e)) > 0 then
  return {'conflict', 'a grant with this id exists already'}
end
if redis.call('EXISTS', loc_key('code', ARGV[8])) == 1 then
  return {'conflict', 'a code with this hash exists already'}
end
put_grant(e, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
put_child(e, 'code', ARGV[8], ARGV[9], ARGV[10], ARGV[11])
prune(EXPIRY, 8, expiry_member_key)
return {'ok'}
