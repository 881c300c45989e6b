//! The README's axum integration is `examples/minimal.rs`, verbatim: what users copy is
//! what compiles.

#[test]
fn readme_shows_the_minimal_example_verbatim() {
    // The wiring itself (from `async fn app`, without comments) stays within 15 lines.
    oauth_glue_scenarios::harness::assert_readme_shows_example(
        include_str!("../examples/minimal.rs"),
        include_str!("../../../README.md"),
        "async fn app",
    );
}
