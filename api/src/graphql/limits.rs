//! Limits for public clients. Over-limit requests are refused before execution with
//! `QUERY_TOO_COMPLEX`; the values are documented in the README.

use async_graphql::{
    Response, ServerError,
    parser::{
        parse_query,
        types::{Selection, SelectionSet},
    },
};

use crate::error::ErrorCode;

/// Deepest selection nesting.
pub const MAX_DEPTH: usize = 12;
/// Largest query complexity: each field costs 1, and a connection's children cost `first`
/// times over.
pub const MAX_COMPLEXITY: usize = 20_000;
/// Deepest nesting of the parser's recursion (fragments, lists, input objects).
pub const MAX_RECURSIVE_DEPTH: usize = 32;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;
/// Most operations in one batched request (a JSON array of requests).
pub const MAX_BATCH: usize = 1;
/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The number of aliased fields in `query`, or `None` when it does not parse (execution will
/// report that).
pub fn alias_count(query: &str) -> Option<usize> {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + count(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => count(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let document = parse_query(query).ok()?;
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| count(&f.node.selection_set.node))
        .sum();
    Some(operations + fragments)
}

/// A response refusing the request for a limit.
pub fn too_complex(message: String) -> Response {
    error_response(ErrorCode::QueryTooComplex, message)
}

/// A response with one error carrying `code`.
pub fn error_response(code: ErrorCode, message: String) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions = Some({
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code.as_str());
        ext
    });
    Response::from_errors(vec![error])
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

/// The cost of a connection field: its children count `first` times (20 when not given).
pub fn connection_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let first = usize::try_from(first.unwrap_or(20).clamp(0, 100)).unwrap_or(0);
    1 + first * child_complexity
}

/// Whether the operation `query` would run (the named one, or the only one) is a mutation.
pub fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = parse_query(query) else {
        return false;
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_recognised_by_operation() {
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
    fn aliases_are_counted_in_operations_fragments_and_nesting() {
        assert_eq!(
            alias_count("{ a: apiVersion b: apiVersion me { c: role } }"),
            Some(3)
        );
        assert_eq!(
            alias_count("query { ...F } fragment F on Query { x: apiVersion }"),
            Some(1)
        );
        assert_eq!(alias_count("{ apiVersion"), None);
    }
}
