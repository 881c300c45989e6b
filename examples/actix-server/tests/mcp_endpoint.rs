//! The MCP endpoint: JSON-RPC over HTTP POST, protected per the MCP authorization profile.
//!
//! The scenarios are `example-support`'s (`testing::mcp`), run by both examples.

mod common;

example_support::mcp_tests!(common::Actix);
