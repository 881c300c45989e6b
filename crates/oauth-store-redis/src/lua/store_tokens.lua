-- ARGV: 2 grant tag, 3 '1' to create the grant, 4 grant exp, 5 grant ttl, 6 grant record,
--       7 user tag, 8 client tag, 9..16 tokens, 17 the tokens' issue time (`now`).
local e = ARGV[2]
if ARGV[3] == '1' then
  if redis.call('EXISTS', grant_key(e), kids_key(e)) > 0 then
    return {'conflict', 'a grant with this id exists already'}
  end
elseif not grant_live(e, ARGV[17]) then
  -- Revoked or expired (at the issue time, even if its key has not expired yet) between
  -- the decision to issue and this write: storing the tokens would report a false
  -- success.
  return {'conflict', 'the grant no longer exists or has expired'}
end
local conflict = tokens_conflict(9)
if conflict then return {'conflict', conflict} end
if ARGV[3] == '1' then
  put_grant(e, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
end
put_tokens(e, 9)
prune(kids_key(e), 8, function(m) return kid_member_key(e, m) end)
prune(EXPIRY, 8, expiry_member_key)
return {'ok'}
