//! `schema.graphql`, the published contract, is exactly what the code serves, and all of it is
//! described.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use serde_json::Value;

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

const INTROSPECTION: &str = "{ __schema { types { name kind description
    fields { name description args { name description } }
    inputFields { name description }
    enumValues { name description } } } }";

/// Scalars defined by the GraphQL specification.
const BUILT_IN: &[&str] = &["String", "Boolean", "Int", "Float", "ID"];

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let schema = api::graphql::schema_builder().finish();
    let response = schema.execute(INTROSPECTION).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let described = |v: &Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let mut missing = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || BUILT_IN.contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(format!("type {name}"));
        }
        for field in ty["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(ty["inputFields"].as_array().into_iter().flatten())
        {
            let field_name = field["name"].as_str().unwrap();
            if !described(field) {
                missing.push(format!("{name}.{field_name}"));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!(
                        "{name}.{field_name}({})",
                        arg["name"].as_str().unwrap()
                    ));
                }
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if !described(value) {
                missing.push(format!("{name}.{}", value["name"].as_str().unwrap()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "without a description:\n{}",
        missing.join("\n")
    );
}

/// Words of Rust, not of the contract: type names, paths, generics.
const RUST: &[&str] = &[
    "Naive",
    "<Utc>",
    "Utc>",
    "::",
    "Option<",
    "Vec<",
    "&str",
    "Implement the",
    "i32",
    "i64",
    "f64",
];

#[tokio::test]
async fn no_name_or_description_in_the_schema_speaks_rust() {
    let schema = api::graphql::schema_builder().finish();
    let response = schema.execute(INTROSPECTION).await;
    let data = response.data.into_json().unwrap();
    let types = data["__schema"]["types"].as_array().unwrap();
    let names: Vec<&str> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"Date") && names.contains(&"DateTime"),
        "{names:?}"
    );
    let mut offenders = Vec::new();
    // Every name and description, of types, fields, arguments, input fields and enum values.
    fn walk(value: &Value, at: &str, offenders: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let here = map
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or(at.to_owned(), |n| format!("{at}.{n}"));
                for key in ["name", "description"] {
                    if let Some(text) = map.get(key).and_then(Value::as_str) {
                        for word in RUST {
                            if text.contains(word) {
                                offenders.push(format!("{here} {key}: {word:?} in {text:?}"));
                            }
                        }
                    }
                }
                for (key, inner) in map {
                    if key != "name" && key != "description" {
                        walk(inner, &here, offenders);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, at, offenders)),
            _ => {}
        }
    }
    walk(&data, "", &mut offenders);
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// Whether an input name would pick a school (`schoolId`, `school_id`, `school`, `schoolSlug`, …);
/// free text such as `previousSchool` does not.
fn names_a_school(lower_name: &str) -> bool {
    let compact = lower_name.replace('_', "");
    compact == "school"
        || (compact.starts_with("school")
            && (compact.ends_with("id") || compact.ends_with("ids") || compact.ends_with("slug")))
}

#[tokio::test]
async fn no_input_or_argument_can_name_a_school_id() {
    let schema = api::graphql::schema_builder().finish();
    let response = schema.execute(INTROSPECTION).await;
    let data = response.data.into_json().unwrap();
    let mut offenders = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap().to_lowercase();
            if names_a_school(&field_name) {
                offenders.push(format!("{name}.{field_name}"));
            }
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            for arg in field["args"].as_array().into_iter().flatten() {
                let arg_name = arg["name"].as_str().unwrap().to_lowercase();
                if names_a_school(&arg_name) {
                    offenders.push(format!(
                        "{name}.{}({arg_name})",
                        field["name"].as_str().unwrap()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the school comes from the request context, never from input: {offenders:?}"
    );
}

#[test]
fn the_school_name_check_catches_ids_and_slugs_but_not_free_text() {
    for name in [
        "schoolid",
        "school_id",
        "school",
        "schoolslug",
        "school_ids",
    ] {
        assert!(names_a_school(name), "{name}");
    }
    assert!(!names_a_school("previousschool"));
}
