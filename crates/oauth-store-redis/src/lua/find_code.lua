-- ARGV: 2 code hash, 3 now.
return find_code(ARGV[2], ARGV[3])
