-- The first read of a code redemption, in one round trip: the client, then (only when
-- it exists) the code. KEYS[1]: the client record. ARGV: 2 code hash, 3 now.
-- Answers {'noclient'}, or the code's status, the client, then the code's record if any.
local c = redis.call('GET', KEYS[1])
if not c then return {'noclient'} end
local r = find_code(ARGV[2], ARGV[3])
return {r[1], c, r[2]}
