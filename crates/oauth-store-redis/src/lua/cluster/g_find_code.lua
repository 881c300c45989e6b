-- Cluster, grant slot. ARGV: 2 grant tag (from the pointer), 3 code hash, 4 now.
return code_under(ARGV[2], ARGV[3], ARGV[4])
