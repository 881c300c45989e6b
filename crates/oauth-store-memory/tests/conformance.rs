//! The shared Store conformance suite (`oauth-store-testkit`), run against `MemoryStore`.

use oauth_store_memory::MemoryStore;

oauth_store_testkit::conformance_tests!(async || MemoryStore::new());
