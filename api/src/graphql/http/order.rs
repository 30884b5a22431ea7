//! The top level of an answer in the order the query names its fields. The executor answers a
//! root type made of several parts (the roster's queries, the system's, …) part by part, so
//! `{ students … apiVersion }` would come back with `apiVersion` first; the GraphQL
//! specification orders a response like its selection set.

use std::collections::HashSet;

use async_graphql::{
    Name, Positioned, Value,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    },
};

/// The operation that runs: the one named, or the only one.
fn selected<'a>(
    document: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// The response keys of the operation's top-level selection, in the order the query names them:
/// fields of a fragment where the fragment is spread, a key named twice where it is first named.
pub(super) fn root_keys(document: &ExecutableDocument, operation: Option<&str>) -> Vec<Name> {
    let op = selected(document, operation);
    let mut keys = Vec::new();
    if let Some(op) = op {
        let mut spread = HashSet::new();
        collect(
            document,
            &op.node.selection_set.node,
            &mut spread,
            &mut keys,
        );
    }
    keys
}

/// The operation's name in metrics: its type and its first root field (`query:students`), read
/// from a document that passed validation, so only the schema's field names can appear.
pub(super) fn metric_label(document: &ExecutableDocument, operation: Option<&str>) -> String {
    use async_graphql::parser::types::OperationType;
    let op = selected(document, operation);
    let Some(op) = op else {
        return "invalid".to_owned();
    };
    let kind = match op.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let first = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|item| match &item.node {
            Selection::Field(f) => Some(f.node.name.node.as_str()),
            _ => None,
        })
        .unwrap_or("fragment");
    format!("{kind}:{first}")
}

fn collect<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    spread: &mut HashSet<&'a str>,
    keys: &mut Vec<Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(document, &fragment.node.selection_set.node, spread, keys);
            }
            Selection::FragmentSpread(name) => {
                let name = name.node.fragment_name.node.as_str();
                // Each fragment once: a cycle is refused by validation, and this walk never
                // depends on that.
                if spread.insert(name)
                    && let Some(fragment) = document.fragments.get(name)
                {
                    collect(document, &fragment.node.selection_set.node, spread, keys);
                }
            }
        }
    }
}

/// Puts the top-level entries of `data` in the order of `keys` (entries not named there, if
/// any, after them in their present order).
pub(super) fn in_query_order(data: &mut Value, keys: &[Name]) {
    let Value::Object(map) = data else { return };
    if map.len() < 2 {
        return;
    }
    let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
    for key in keys {
        if let Some((key, value)) = map.shift_remove_entry(key) {
            ordered.insert(key, value);
        }
    }
    ordered.extend(map.drain(..));
    *map = ordered;
}
