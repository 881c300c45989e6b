//! The README's axum integration is `examples/minimal.rs`, verbatim: what users copy is
//! what compiles.

#[test]
fn readme_shows_the_minimal_example_verbatim() {
    let example = include_str!("../examples/minimal.rs");
    let readme = include_str!("../../../README.md");
    let begin = example.find("// README: begin\n").unwrap() + "// README: begin\n".len();
    let end = example.find("// README: end").unwrap();
    let snippet = &example[begin..end];
    assert!(
        readme.contains(snippet),
        "README.md must contain examples/minimal.rs between its markers:\n{snippet}"
    );
    // The wiring itself (the function `app`, without comments) stays within 15 lines.
    let wiring = &snippet[snippet.find("async fn app").unwrap()..];
    let code = wiring
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count();
    assert!(code <= 15, "the integration grew to {code} lines");
}
