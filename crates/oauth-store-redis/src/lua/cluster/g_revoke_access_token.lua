-- Cluster, grant slot. ARGV: 2 grant tag (from the pointer), 3 access token hash.
del_child_local(ARGV[2], 'at', ARGV[3])
return {'ok'}
