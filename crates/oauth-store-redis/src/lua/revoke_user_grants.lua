-- ARGV: 2 user tag. Every grant the index names is revoked if its record is this user's
-- (or gone, leaving children behind); the index goes last.
local u = ARGV[2]
local idx = user_index(u)
for _, e in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local owner = redis.call('HGET', grant_key(e), 'user')
  if not owner or owner == u then revoke(e) end
end
redis.call('DEL', idx)
return {'ok'}
