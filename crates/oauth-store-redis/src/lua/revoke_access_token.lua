-- ARGV: 2 access token hash.
local e = locate('at', ARGV[2])
if e then del_child(e, 'at', ARGV[2]) end
return {'ok'}
