//! Limits for public clients. Over-limit requests are refused before execution with
//! `QUERY_TOO_COMPLEX`; the values are documented in the README.
//!
//! A query's price is counted in the fields it could resolve: each field costs 1, and a list's
//! children cost as many times over as the list may hold (`first`, or the list's default when
//! `first` is not given), so the price is the sum, over every path, of the product of the list
//! sizes along it. Fragments and spreads are counted where they are spread. The price is known
//! from the query and its variables before anything runs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
    },
    parser::{
        parse_query,
        types::{ExecutableDocument, Selection, SelectionSet},
    },
};

use crate::error::{ApiError, ErrorCode};

pub use super::depth::MAX_DEPTH;
/// Deepest nesting of brackets (`{`, `[`, `(`) in a query's text, checked before it is parsed:
/// selections, list values and input objects together.
pub const MAX_NESTING: usize = 40;
/// Deepest nesting of the parser's recursion (fragments, lists, input objects).
pub const MAX_RECURSIVE_DEPTH: usize = 32;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Most aliased fields in one document, counted where fragments are spread.
pub const MAX_ALIASES: usize = 30;
/// Most operations in one batched request (a JSON array of requests).
pub const MAX_BATCH: usize = 1;
/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The most a nested list (`Class.students`, `Student.grades`, …) returns per parent.
pub const MAX_NESTED_FIRST: i32 = 1_000;
/// Prices beyond this are all the same: far over any limit (and safe from overflow when summed).
const COST_CEILING: usize = 1 << 32;

/// How many a nested list returns when `first` is not given (its price assumes as many).
pub mod nested {
    /// `Student.grades`.
    pub const STUDENT_GRADES: usize = 200;
    /// `Student.guardians`.
    pub const STUDENT_GUARDIANS: usize = 20;
    /// `Student.incidents`.
    pub const STUDENT_INCIDENTS: usize = 100;
    /// `Student.healthRecords`.
    pub const STUDENT_HEALTH_RECORDS: usize = 100;
    /// `Student.academicHistory`.
    pub const STUDENT_ACADEMIC_HISTORY: usize = 100;
    /// `Student.enrollments`.
    pub const STUDENT_ENROLLMENTS: usize = 50;
    /// `Student.attendance`.
    pub const STUDENT_ATTENDANCE: usize = 200;
    /// `Class.students`.
    pub const CLASS_STUDENTS: usize = 50;
    /// `Class.teachers`.
    pub const CLASS_TEACHERS: usize = 20;
    /// `Teacher.classes`.
    pub const TEACHER_CLASSES: usize = 50;
    /// `AcademicYear.terms`.
    pub const YEAR_TERMS: usize = 10;
    /// Lists of a few items without `first` (memberships, domains, tokens, years, models,
    /// analytics rows): priced as this many.
    pub const FLAT: usize = 100;
}

/// Refuses a query whose brackets nest deeper than [`MAX_NESTING`], reading its text once,
/// without recursion: strings, block strings and comments are skipped. Runs before the query
/// is parsed (the parser recurses once per level).
pub fn check_nesting(query: &str) -> Result<(), String> {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING {
                    return Err(format!(
                        "the query nests brackets more than {MAX_NESTING} deep"
                    ));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The number of aliased fields in `document`, each fragment counted as many times as it is
/// spread (a fragment spread inside itself is counted once; validation refuses such cycles).
pub fn alias_count(document: &ExecutableDocument) -> usize {
    fn count(
        set: &SelectionSet,
        document: &ExecutableDocument,
        memo: &mut HashMap<String, usize>,
        visiting: &mut Vec<String>,
    ) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => usize::from(field.node.alias.is_some()).saturating_add(
                    count(&field.node.selection_set.node, document, memo, visiting),
                ),
                Selection::InlineFragment(fragment) => {
                    count(&fragment.node.selection_set.node, document, memo, visiting)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(n) = memo.get(name) {
                        return *n;
                    }
                    if visiting.iter().any(|v| v == name) {
                        return 0;
                    }
                    let Some(fragment) = document.fragments.get(name) else {
                        return 0;
                    };
                    visiting.push(name.to_owned());
                    let n = count(&fragment.node.selection_set.node, document, memo, visiting);
                    visiting.pop();
                    memo.insert(name.to_owned(), n);
                    n
                }
            })
            .fold(0usize, usize::saturating_add)
    }
    let mut memo = HashMap::new();
    document
        .operations
        .iter()
        .map(|(_, op)| {
            count(
                &op.node.selection_set.node,
                document,
                &mut memo,
                &mut Vec::new(),
            )
        })
        .fold(0usize, usize::saturating_add)
}

/// Parses `query` after checking its nesting and its aliases; the error is the refusal's
/// message (`QUERY_TOO_COMPLEX`). `None`: the query does not parse (execution reports why).
pub fn parse_checked(query: &str) -> Result<Option<ExecutableDocument>, String> {
    check_nesting(query)?;
    let Ok(document) = parse_query(query) else {
        return Ok(None);
    };
    super::depth::check(&document)?;
    let aliases = alias_count(&document);
    if aliases > MAX_ALIASES {
        return Err(format!(
            "the query has {aliases} aliases (fragments counted where they are spread); the limit is {MAX_ALIASES}"
        ));
    }
    Ok(Some(document))
}

/// The price of a list field: `1 + n × child`, where `n` is `first` or, when not given,
/// `default`. Saturates far above any limit.
pub fn list_cost(first: Option<i32>, default: usize, child_complexity: usize) -> usize {
    let n = first.map_or(default, |f| usize::try_from(f.max(0)).unwrap_or(0));
    n.saturating_mul(child_complexity)
        .saturating_add(1)
        .min(COST_CEILING)
}

/// The price of a connection (`first` at most 100, 20 when not given).
pub fn connection_cost(first: Option<i32>, child_complexity: usize) -> usize {
    list_cost(first.map(|f| f.clamp(0, 100)), 20, child_complexity)
}

/// How many a nested list returns: `first`, else `default`; refuses a `first` outside
/// 1–[`MAX_NESTED_FIRST`].
pub fn nested_first(first: Option<i32>, default: usize) -> Result<usize, ApiError> {
    match first {
        None => Ok(default),
        Some(n) if (1..=MAX_NESTED_FIRST).contains(&n) => Ok(usize::try_from(n).unwrap_or(0)),
        Some(_) => Err(ApiError::bad_field(
            "first",
            format!("must be between 1 and {MAX_NESTED_FIRST}"),
        )),
    }
}

/// The price the validation found, for the answer's `extensions.cost` and the school's budget.
#[derive(Debug, Clone, Default)]
pub struct CostSlot(Arc<Mutex<Option<usize>>>);

impl CostSlot {
    /// The price, once validation has run.
    pub fn get(&self) -> Option<usize> {
        self.0.lock().ok().and_then(|c| *c)
    }

    fn set(&self, cost: usize) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(cost);
        }
    }
}

/// Marks a request to be parsed, validated and priced, and not run.
#[derive(Debug, Clone, Copy)]
pub struct PriceOnly;

/// The schema extension that checks nesting before parsing, refuses a query priced over the
/// limit after validation, and stops a [`PriceOnly`] request there. It applies to every
/// transport (HTTP and WebSocket).
#[derive(Debug, Clone, Copy)]
pub struct CostGuard {
    max_cost: usize,
}

impl CostGuard {
    /// A guard refusing queries priced over `max_cost`.
    pub fn new(max_cost: usize) -> Self {
        Self { max_cost }
    }
}

impl ExtensionFactory for CostGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// An error carrying `code` in its extensions.
fn coded(code: ErrorCode, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    error.extensions = Some(ext);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for CostGuard {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_nesting(query).map_err(|m| coded(ErrorCode::QueryTooComplex, m))?;
        let document = next.run(ctx, query, variables).await?;
        crate::graphql::text::check(&document, variables)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(slot) = ctx.data_opt::<CostSlot>() {
            slot.set(result.complexity);
        }
        if result.complexity > self.max_cost {
            let cost = if result.complexity >= COST_CEILING {
                format!("more than {COST_CEILING}")
            } else {
                result.complexity.to_string()
            };
            return Err(vec![coded(
                ErrorCode::QueryTooComplex,
                format!(
                    "the query costs {cost} (each field 1, a list's fields as many times as it may hold); the limit is {}",
                    self.max_cost
                ),
            )]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if ctx.data_opt::<PriceOnly>().is_some() {
            return Response::new(Value::Null);
        }
        next.run(ctx, operation_name).await
    }
}

/// A response refusing the request for a limit.
pub fn too_complex(message: String) -> Response {
    error_response(ErrorCode::QueryTooComplex, message)
}

/// A response with one error carrying `code`.
pub fn error_response(code: ErrorCode, message: String) -> Response {
    Response::from_errors(vec![coded(code, message)])
}

/// Gives every error that has no code one: the executor's own limit errors become
/// `QUERY_TOO_COMPLEX`, and its parse and validation errors `BAD_USER_INPUT`.
pub fn classify_errors(response: &mut Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let message = error.message.as_str();
        let over_limit = message.contains("nested too deep")
            || message.contains("too complex")
            || message.contains("number of directives");
        let code = if over_limit {
            ErrorCode::QueryTooComplex
        } else {
            ErrorCode::BadUserInput
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

/// The type of the operation `operation_name` names (the only one when no name is given).
pub fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<async_graphql::parser::types::OperationType> {
    use async_graphql::parser::types::DocumentOperations;
    match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    }
}

/// Whether the operation of `document` that would run (the named one, or the only one) is a
/// mutation.
pub fn is_mutation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let is_mutation =
        |op: &async_graphql::parser::types::OperationDefinition| op.ty == OperationType::Mutation;
    match &document.operations {
        DocumentOperations::Single(op) => is_mutation(&op.node),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name).is_some_and(|op| is_mutation(&op.node)),
            // Ambiguous without a name: refuse if any could write.
            None => ops.values().any(|op| is_mutation(&op.node)),
        },
    }
}

/// Whether the operation of `document` that would run is a query.
pub fn is_query(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    operation_type(document, operation_name)
        == Some(async_graphql::parser::types::OperationType::Query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_recognised_by_operation() {
        let is_mutation = |q: &str, name| super::is_mutation(&parse_query(q).unwrap(), name);
        assert!(is_mutation("mutation { revokeMySessions }", None));
        assert!(!is_mutation("{ apiVersion }", None));
        assert!(is_mutation(
            "query A { apiVersion } mutation B { revokeMySessions }",
            Some("B")
        ));
        assert!(!is_mutation(
            "query A { apiVersion } mutation B { revokeMySessions }",
            Some("A")
        ));
        assert!(is_mutation(
            "query A { apiVersion } mutation B { revokeMySessions }",
            None
        ));
    }

    #[test]
    fn aliases_are_counted_where_fragments_are_spread() {
        let count = |q: &str| alias_count(&parse_query(q).unwrap());
        assert_eq!(count("{ a: apiVersion b: apiVersion me { c: role } }"), 3);
        assert_eq!(
            count("query { ...F } fragment F on Query { x: apiVersion }"),
            1
        );
        assert_eq!(
            count(
                "query { ...F ...F me { ...G } } fragment F on Query { x: apiVersion ...G } \
                 fragment G on Query { y: apiVersion z: apiVersion }"
            ),
            2 * 3 + 2
        );
    }

    #[test]
    fn nesting_is_refused_before_parsing_whatever_the_brackets() {
        assert!(check_nesting("{ me { role } }").is_ok());
        let deep = |open: &str, close: &str, n: usize| {
            format!("{{ f(a: {}1{}) }}", open.repeat(n), close.repeat(n))
        };
        assert!(check_nesting(&deep("[", "]", 30)).is_ok());
        assert!(check_nesting(&deep("[", "]", 2_000)).is_err());
        assert!(check_nesting(&deep("{a:", "}", 2_000)).is_err());
        assert!(check_nesting(&"{".repeat(1_000_000)).is_err());
        // Brackets in strings and comments do not count.
        let quoted = format!("{{ f(a: \"{}\") }} # {}", "[".repeat(100), "{".repeat(100));
        assert!(check_nesting(&quoted).is_ok());
        let block = format!("{{ f(a: \"\"\"{}\"\"\") }}", "(".repeat(100));
        assert!(check_nesting(&block).is_ok());
    }

    #[test]
    fn list_prices_multiply_and_saturate() {
        assert_eq!(list_cost(None, 50, 3), 151);
        assert_eq!(list_cost(Some(10), 50, 3), 31);
        assert_eq!(list_cost(Some(-5), 50, 3), 1);
        assert_eq!(list_cost(Some(i32::MAX), 50, usize::MAX), COST_CEILING);
        assert_eq!(connection_cost(Some(1_000), 2), 201);
        assert!(nested_first(Some(0), 50).is_err());
        assert!(nested_first(Some(MAX_NESTED_FIRST + 1), 50).is_err());
        assert_eq!(nested_first(None, 50).unwrap(), 50);
    }
}
