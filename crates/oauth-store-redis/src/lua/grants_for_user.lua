-- ARGV: 2 user tag, 3 now. The user index is a list of candidates: each is re-checked
-- against its grant record (present, this user's, unexpired).
local u, now = ARGV[2], ARGV[3]
local out = {}
for _, e in ipairs(redis.call('ZRANGE', user_index(u), 0, -1)) do
  local f = redis.call('HMGET', grant_key(e), 'exp', 'rec', 'user')
  if f[1] and f[3] == u and not expired(f[1], now) then
    table.insert(out, f[2])
  end
end
return out
