-- Shared helpers, prepended to every script of oauth-store-redis.
--
-- ARGV[1] is always the validated key prefix. Ids and hashes arrive from Rust already
-- escaped (ids: [A-Za-z0-9_.-] kept, every other byte as %XX; hashes: 64 lower-case hex
-- digits), so no name built here can contain ':', '{' or '}' except where the layout puts
-- them. Times are 20-digit zero-padded decimal strings and TTLs are milliseconds, both
-- computed by Rust. A script checks everything before its first write: Redis does not
-- roll back a script that fails halfway.
local P = ARGV[1]
local EXPIRY = P .. ':expiry'

local function grant_base(e) return P .. ':{g:' .. e .. '}' end
local function grant_key(e) return grant_base(e) .. ':grant' end
local function kids_key(e) return grant_base(e) .. ':kids' end
local function child_key(e, kind, h) return grant_base(e) .. ':' .. kind .. ':' .. h end
local function loc_key(kind, h) return P .. ':loc:' .. kind .. ':' .. h end
local function user_index(u) return P .. ':{u:' .. u .. '}:grants' end
local function client_index(c) return P .. ':{c:' .. c .. '}:grants' end
local function once_key(ns, h) return P .. ':once:' .. ns .. ':' .. h end
local function client_key(c) return P .. ':{c:' .. c .. '}:client' end

-- Whether a record expiring at `exp` is expired at `now` (exp <= now), exactly: each
-- 10-digit half fits a Lua number (a double) without rounding.
local function expired(exp, now)
  local eh = tonumber(string.sub(exp, 1, 10))
  local nh = tonumber(string.sub(now, 1, 10))
  if eh ~= nh then return eh < nh end
  return tonumber(string.sub(exp, 11, 20)) <= tonumber(string.sub(now, 11, 20))
end

-- Lengthens (never shortens) the TTL of an index key to `ttl` ms: an index lives as long
-- as its longest-lived member, then expires with it.
local function extend(key, ttl)
  if redis.call('PTTL', key) < tonumber(ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- Removes up to `n` members of an index whose record no longer exists (expired by TTL),
-- oldest first: writers call it so that indexes track the live records. `key_of` maps a
-- member to the key whose existence keeps it.
local function prune(index, n, key_of)
  local members = redis.call('ZRANGE', index, 0, n - 1)
  for _, m in ipairs(members) do
    local k = key_of(m)
    if k == nil or redis.call('EXISTS', k) == 0 then
      redis.call('ZREM', index, m)
    end
  end
end

-- Whether `e` is a grant tag as Rust escapes ids (`A-Z a-z 0-9 _ . - %`): a value read
-- back from a pointer must not be able to name a key outside its grant's keys.
local function valid_tag(e)
  return string.find(e, '^[%w_%.%-%%]*$') ~= nil
end

-- The grant tag a lookup pointer names, or nil. A malformed tag stops the script (before
-- any write) with a CORRUPT error, as the cluster path does.
local function locate(kind, h)
  local e = redis.call('GET', loc_key(kind, h))
  if not e then return nil end
  if not valid_tag(e) then
    error({err = 'CORRUPT a stored grant reference is malformed'})
  end
  return e
end

-- Whether grant `e` exists and is unexpired at `now`.
local function grant_live(e, now)
  local exp = redis.call('HGET', grant_key(e), 'exp')
  return exp and not expired(exp, now)
end

-- The code with hash `h` under grant `e` at `now`: {'notfound'}, {'used', record} (a
-- tombstone, kept until the code's expiry) or {'active', record} (its grant live).
local function code_under(e, h, now)
  local f = redis.call('HMGET', child_key(e, 'code', h), 'exp', 'used', 'rec')
  if not f[1] or expired(f[1], now) then return {'notfound'} end
  if f[2] == '1' then return {'used', f[3]} end
  if not grant_live(e, now) then return {'notfound'} end
  return {'active', f[3]}
end

-- The code with hash `h`, found through its lookup pointer (standalone).
local function find_code(h, now)
  local e = locate('code', h)
  if not e then return {'notfound'} end
  return code_under(e, h, now)
end

-- Stores one record issued under grant `e` (which the caller checked), with its lookup
-- pointer and its entries in the grant's child index and the expiry index.
local function put_child(e, kind, h, exp, ttl, rec)
  local k = child_key(e, kind, h)
  if kind == 'code' then
    redis.call('HSET', k, 'exp', exp, 'used', '0', 'rec', rec)
  else
    redis.call('HSET', k, 'exp', exp, 'rec', rec)
  end
  redis.call('PEXPIRE', k, ttl)
  redis.call('SET', loc_key(kind, h), e, 'PX', ttl)
  redis.call('ZADD', kids_key(e), exp, kind .. ':' .. h)
  extend(kids_key(e), ttl)
  redis.call('ZADD', EXPIRY, exp, kind .. ':' .. e .. ':' .. h)
  extend(EXPIRY, ttl)
end

-- Stores a grant (which the caller checked is new) with its user and client index entries.
-- `u` is the escaped user id, or '' for a grant whose subject is the client.
local function put_grant(e, exp, ttl, rec, u, c)
  local k = grant_key(e)
  redis.call('HSET', k, 'exp', exp, 'rec', rec, 'user', u, 'client', c)
  redis.call('PEXPIRE', k, ttl)
  if u ~= '' then
    redis.call('ZADD', user_index(u), exp, e)
    extend(user_index(u), ttl)
  end
  redis.call('ZADD', client_index(c), exp, e)
  extend(client_index(c), ttl)
  if u ~= '' then prune(user_index(u), 8, grant_key) end
  prune(client_index(c), 8, grant_key)
  redis.call('ZADD', EXPIRY, exp, 'grant:' .. e)
  extend(EXPIRY, ttl)
end

-- Deletes one record of grant `e` with its pointer and index entries; 1 if it existed.
local function del_child(e, kind, h)
  local n = redis.call('DEL', child_key(e, kind, h))
  local lk = loc_key(kind, h)
  if redis.call('GET', lk) == e then redis.call('DEL', lk) end
  redis.call('ZREM', kids_key(e), kind .. ':' .. h)
  redis.call('ZREM', EXPIRY, kind .. ':' .. e .. ':' .. h)
  return n
end

-- Deletes grant `e` and everything under it (tombstones included); returns how many
-- records went. Work is proportional to the grant's own records.
local function revoke(e)
  local removed = 0
  local kids = redis.call('ZRANGE', kids_key(e), 0, -1)
  for _, m in ipairs(kids) do
    local kind, h = string.match(m, '^(%a+):(%x+)$')
    if kind then removed = removed + del_child(e, kind, h) end
  end
  local meta = redis.call('HMGET', grant_key(e), 'user', 'client')
  if meta[1] and meta[1] ~= '' then redis.call('ZREM', user_index(meta[1]), e) end
  if meta[2] then redis.call('ZREM', client_index(meta[2]), e) end
  removed = removed + redis.call('DEL', grant_key(e))
  redis.call('DEL', kids_key(e))
  redis.call('ZREM', EXPIRY, 'grant:' .. e)
  return removed
end

-- The key an expiry-index member stands for.
local function expiry_member_key(m)
  local kind, a, b = string.match(m, '^(%a+):([^:]+):?(.*)$')
  if kind == 'grant' then return grant_key(a) end
  if kind == 'once' then return once_key(a, b) end
  if kind == 'code' or kind == 'at' or kind == 'rt' then return child_key(a, kind, b) end
  return nil
end

-- The key a member of grant `e`'s child index stands for.
local function kid_member_key(e, m)
  local kind, h = string.match(m, '^(%a+):(%x+)$')
  if kind then return child_key(e, kind, h) end
  return nil
end

-- Tokens passed at ARGV[i .. i+7]: access hash, exp, ttl, record; refresh hash ('' for
-- none), exp, ttl, record. A reason string if one of their hashes is taken, else nil.
local function tokens_conflict(i)
  if redis.call('EXISTS', loc_key('at', ARGV[i])) == 1 then
    return 'an access token with this hash exists already'
  end
  if ARGV[i + 4] ~= '' and redis.call('EXISTS', loc_key('rt', ARGV[i + 4])) == 1 then
    return 'a refresh token with this hash exists already'
  end
  return nil
end

local function put_tokens(e, i)
  put_child(e, 'at', ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  if ARGV[i + 4] ~= '' then
    put_child(e, 'rt', ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7])
  end
end
