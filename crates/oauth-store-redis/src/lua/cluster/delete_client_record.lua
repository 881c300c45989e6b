-- Cluster, the client's slot. ARGV: 2 client tag. Deletes the client record and returns
-- the index's PTTL (ms) and the grant tags it lists, which the store then revokes one by
-- one (the PTTL bounds the life of every grant listed: see index_list.lua).
local c = ARGV[2]
redis.call('DEL', client_key(c))
local out = {tostring(redis.call('PTTL', client_index(c)))}
for _, e in ipairs(redis.call('ZRANGE', client_index(c), 0, -1)) do
  table.insert(out, e)
end
return out
