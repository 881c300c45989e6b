-- ARGV: 2 client tag. The client record, then every grant the client index names that
-- is this client's (or gone, leaving children behind); the index goes last.
local c = ARGV[2]
redis.call('DEL', client_key(c))
local idx = client_index(c)
for _, e in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local owner = redis.call('HGET', grant_key(e), 'client')
  if not owner or owner == c then revoke(e) end
end
redis.call('DEL', idx)
return {'ok'}
