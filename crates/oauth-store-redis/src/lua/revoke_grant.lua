-- ARGV: 2 grant tag.
revoke(ARGV[2])
return {'ok'}
