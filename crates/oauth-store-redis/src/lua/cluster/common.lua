-- Slot-local steps for Redis Cluster, appended to common.lua. A cluster script touches
-- only the keys of the hash tag of its KEYS[1] (the server refuses anything else), so
-- these steps never write a lookup pointer, a user or client index or the expiry index:
-- the store writes those in their own single-slot calls, pointers and index hints before
-- the records, and the grant-slot script stays the only authority on a record.
-- In grant scripts ARGV[2] is always the grant tag `e` of KEYS[1].

-- `P:{g:E}:revoked`: left by a revocation that found no record of grant `e` (see
-- g_revoke_grant.lua); a creation of `e` is refused while it exists.
local function revoked_key(e) return grant_base(e) .. ':revoked' end

-- `P:{P:expiry}:latest`, in the slot of `P:expiry` (its hash tag is that key's name): each
-- expiry-index member scored by the latest expiry under it, so that writers can drop the
-- members under which everything has expired.
local EXPIRY_LATEST = P .. ':{' .. EXPIRY .. '}:latest'

-- Whether any of the keys exists: one EXISTS per key, since a multi-key command on keys
-- that are missing fails (TRYAGAIN) on a node importing the slot during a migration.
local function exists_any(...)
  for _, k in ipairs({...}) do
    if redis.call('EXISTS', k) == 1 then return true end
  end
  return false
end

-- Stores one record under grant `e` with its entry in the grant's child index.
local function put_child_local(e, kind, h, exp, ttl, rec)
  local k = child_key(e, kind, h)
  if kind == 'code' then
    redis.call('HSET', k, 'exp', exp, 'used', '0', 'rec', rec)
  else
    redis.call('HSET', k, 'exp', exp, 'rec', rec)
  end
  redis.call('PEXPIRE', k, ttl)
  redis.call('ZADD', kids_key(e), exp, kind .. ':' .. h)
  extend(kids_key(e), ttl)
end

-- Stores a grant (which the caller checked is new).
local function put_grant_local(e, exp, ttl, rec, u, c)
  local k = grant_key(e)
  redis.call('HSET', k, 'exp', exp, 'rec', rec, 'user', u, 'client', c)
  redis.call('PEXPIRE', k, ttl)
end

-- Tokens at ARGV[i .. i+7], as in common.lua. A reason if a record with one of their
-- hashes exists under `e` already (the pointers, written first with NX, guard the other
-- grants).
local function tokens_conflict_local(e, i)
  if redis.call('EXISTS', child_key(e, 'at', ARGV[i])) == 1 then
    return 'an access token with this hash exists already'
  end
  if ARGV[i + 4] ~= '' and redis.call('EXISTS', child_key(e, 'rt', ARGV[i + 4])) == 1 then
    return 'a refresh token with this hash exists already'
  end
  return nil
end

local function put_tokens_local(e, i)
  put_child_local(e, 'at', ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  if ARGV[i + 4] ~= '' then
    put_child_local(e, 'rt', ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7])
  end
end

local function prune_kids(e)
  prune(kids_key(e), 8, function(m) return kid_member_key(e, m) end)
end

-- Deletes one record of grant `e` and its child-index entry; 1 if it existed.
local function del_child_local(e, kind, h)
  local n = redis.call('DEL', child_key(e, kind, h))
  redis.call('ZREM', kids_key(e), kind .. ':' .. h)
  return n
end

-- Deletes grant `e` and everything under it. Returns the reply
-- {'ok', removed, user, client, member...}: the members (`kind:hash`) name the lookup
-- pointers, and user and client the index entries, that the store then cleans up.
local function revoke_local(e)
  local out = {'ok', 0, '', ''}
  local removed = 0
  for _, m in ipairs(redis.call('ZRANGE', kids_key(e), 0, -1)) do
    local kind, h = string.match(m, '^(%a+):(%x+)$')
    if kind then
      removed = removed + redis.call('DEL', child_key(e, kind, h))
      table.insert(out, m)
    end
  end
  local meta = redis.call('HMGET', grant_key(e), 'user', 'client')
  out[3] = meta[1] or ''
  out[4] = meta[2] or ''
  removed = removed + redis.call('DEL', grant_key(e))
  redis.call('DEL', kids_key(e))
  out[2] = tostring(removed)
  return out
end
