//! `schema.graphql`, the published contract, is exactly what the code serves.

#[test]
fn the_checked_in_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = api::graphql::sdl();
    assert!(
        checked_in == generated,
        "schema.graphql is out of date with the code.\n\
         Regenerate it with:\n\n    cargo run -p api -- schema > schema.graphql\n\n\
         and review the diff: it is the public contract."
    );
}

#[test]
fn every_type_and_field_of_the_schema_is_described() {
    let sdl = api::graphql::sdl();
    let mut undescribed = Vec::new();
    let mut previous = "";
    let mut in_schema_block = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("schema {") {
            in_schema_block = true;
        }
        if in_schema_block {
            in_schema_block = trimmed != "}";
            previous = line;
            continue;
        }
        let is_definition = trimmed.starts_with("type ")
            || trimmed.starts_with("enum ")
            || trimmed.starts_with("input ")
            || trimmed.starts_with("interface ")
            || trimmed.starts_with("union ")
            || trimmed.starts_with("scalar ");
        let is_field = line.starts_with('\t') || line.starts_with("  ");
        let is_member =
            is_field && !trimmed.is_empty() && !trimmed.starts_with('"') && trimmed != "}";
        if (is_definition || is_member) && !previous.trim().ends_with('"') {
            undescribed.push(trimmed.to_owned());
        }
        previous = line;
    }
    assert!(
        undescribed.is_empty(),
        "types and fields without a description:\n{}",
        undescribed.join("\n")
    );
}
