//! Big lists of plain records, answered in one pass.
//!
//! The executor resolves every field of every list item as a future of its own and gathers the
//! results into a map as they complete: on a page of 42,000 grades that machinery, not the
//! database, was most of the time. A list whose selection reads only the record's own columns
//! (and many-to-one references to small tables of the school, loaded once for the whole list)
//! is answered here instead, by one synchronous walk over the selection set per item. Anything
//! else under the list — a fragment, a directive, an argument, a repeated response key, a field
//! that loads or checks something — sends the whole list to the general executor, so an answer
//! is the same either way (a test compares the two on every field).
//!
//! The fields come out in the order the query selects them, as the GraphQL specification says.
//!
//! Over HTTP such a list is not even built as a tree of values: it is written as JSON text at
//! once and stands in the tree as a placeholder ([`Spliced`]) that the answer's writer replaces
//! with the text. That is only done for a document in which no two fields of one selection set
//! share a response key and no fragment is used, since the executor merges such fields' values
//! and a placeholder cannot be merged.

use std::{
    collections::HashSet,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use async_graphql::{
    Name, Value,
    indexmap::IndexMap,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// Lists answered in one pass since the process started: built as values, written as JSON.
static ANSWERED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// How many lists were answered in one pass since the process started: `(as values, as JSON)`.
pub fn answered() -> (u64, u64) {
    (
        ANSWERED[0].load(Ordering::Relaxed),
        ANSWERED[1].load(Ordering::Relaxed),
    )
}

/// Counts a list answered in one pass.
pub fn count(as_json: bool) {
    ANSWERED[usize::from(as_json)].fetch_add(1, Ordering::Relaxed);
}

/// A record whose fields can be read without the executor.
pub trait Flat {
    /// The GraphQL type's name (the answer to `__typename`).
    const TYPE: &'static str;

    /// The value of the field `name` (as the schema spells it) read from the record alone, or
    /// `None` when the field needs the executor (it takes arguments, loads or checks something).
    fn field(&self, name: &str) -> Option<Value>;
}

/// One selected field.
#[derive(Debug)]
pub enum Pick<'a> {
    /// `__typename`, under its response key.
    Typename(&'a Name),
    /// A field without a selection set: the response key and the field's name.
    Own(&'a Name, &'a str),
    /// A field with a selection set: the response key, the field's name and what it selects.
    Nested(&'a Name, &'a str, Vec<Pick<'a>>),
}

/// The fields `set` selects, when every one is a plain field (at any depth): no fragment,
/// directive or argument, and no response key twice. `None` otherwise.
pub fn picks(set: &SelectionSet) -> Option<Vec<Pick<'_>>> {
    let mut keys = HashSet::with_capacity(set.items.len());
    let mut out = Vec::with_capacity(set.items.len());
    for selection in &set.items {
        let Selection::Field(field) = &selection.node else {
            return None;
        };
        let field = &field.node;
        if !field.arguments.is_empty() || !field.directives.is_empty() {
            return None;
        }
        let key = &field.response_key().node;
        if !keys.insert(key.as_str()) {
            return None;
        }
        let name = field.name.node.as_str();
        let sub = &field.selection_set.node;
        out.push(if name == "__typename" {
            Pick::Typename(key)
        } else if sub.items.is_empty() {
            Pick::Own(key, name)
        } else {
            Pick::Nested(key, name, picks(sub)?)
        });
    }
    Some(out)
}

/// How many times `picks` select the field `name` (with a selection set), under any key.
pub fn selections_of(picks: &[Pick<'_>], name: &str) -> usize {
    picks
        .iter()
        .filter(|p| matches!(p, Pick::Nested(_, n, _) if *n == name))
        .count()
}

/// Marks a request whose document [`splice_safe`] allows: no field is merged with another, so
/// a list may come from its own rows.
#[derive(Debug, Clone, Copy)]
pub struct Distinct;

/// The object `picks` select of `record`; `nested` answers the fields with a selection set.
/// `None` when a field is not plain after all.
pub fn object<T: Flat>(
    record: &T,
    picks: &[Pick<'_>],
    nested: &mut impl FnMut(&T, &str, &[Pick<'_>]) -> Option<Value>,
) -> Option<Value> {
    let mut map = IndexMap::with_capacity(picks.len());
    for pick in picks {
        let (key, value) = match pick {
            Pick::Typename(key) => (*key, Value::String(T::TYPE.to_owned())),
            Pick::Own(key, name) => (*key, record.field(name)?),
            Pick::Nested(key, name, sub) => (*key, nested(record, name, sub)?),
        };
        map.insert(key.clone(), value);
    }
    Some(Value::Object(map))
}

/// The object `picks` select of a record with no references of its own.
pub fn leaf<T: Flat>(record: &T, picks: &[Pick<'_>]) -> Option<Value> {
    object(record, picks, &mut |_, _, _| None)
}

/// An optional value: `null` for `None`.
pub fn or_null<T>(value: Option<T>, wrap: impl FnOnce(T) -> Value) -> Value {
    value.map_or(Value::Null, wrap)
}

/// Writes the object `picks` select of `record` as JSON; `nested` writes the fields with a
/// selection set. `None` when a field is not plain after all.
pub fn write_object<T: Flat>(
    out: &mut Vec<u8>,
    record: &T,
    picks: &[Pick<'_>],
    nested: &mut impl FnMut(&mut Vec<u8>, &T, &str, &[Pick<'_>]) -> Option<()>,
) -> Option<()> {
    out.push(b'{');
    for (i, pick) in picks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let key = match pick {
            Pick::Typename(key) | Pick::Own(key, _) | Pick::Nested(key, _, _) => key,
        };
        // A response key is a GraphQL name (letters, digits, `_`): nothing to escape.
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match pick {
            Pick::Typename(_) => serde_json::to_writer(&mut *out, T::TYPE).ok()?,
            Pick::Own(_, name) => serde_json::to_writer(&mut *out, &record.field(name)?).ok()?,
            Pick::Nested(_, name, sub) => nested(out, record, name, sub)?,
        }
    }
    out.push(b'}');
    Some(())
}

/// Parts of one HTTP answer written as JSON ahead of the rest, and the placeholders that stand
/// for them in the response until [`Spliced::splice`] puts them in.
#[derive(Debug, Default)]
pub struct Spliced {
    /// `"splice<random>:`, what every placeholder of this answer starts with, quote included;
    /// drawn when the first piece is kept (most answers keep none).
    marker: OnceLock<String>,
    pieces: Mutex<Vec<Vec<u8>>>,
}

impl Spliced {
    /// Keeps `json` (one complete JSON value) and gives the placeholder to put in its place.
    pub fn put(&self, json: Vec<u8>) -> Option<Value> {
        let marker = self
            .marker
            .get_or_init(|| format!("\"splice{}:", uuid::Uuid::new_v4().simple()));
        let mut pieces = self.pieces.lock().ok()?;
        let placeholder = format!("{}{}", &marker[1..], pieces.len());
        pieces.push(json);
        Some(Value::String(placeholder))
    }

    /// `answer` (the response as JSON) with each placeholder replaced by its JSON; `None` when
    /// the result would be longer than `limit` bytes.
    pub fn splice(&self, answer: Vec<u8>, limit: usize) -> Option<Vec<u8>> {
        let pieces = std::mem::take(&mut *self.pieces.lock().ok()?);
        if pieces.is_empty() {
            return Some(answer);
        }
        let total = answer.len() + pieces.iter().map(Vec::len).sum::<usize>();
        let marker = self.marker.get()?.as_bytes();
        // Pieces whose placeholder an error took away are not counted.
        let mut out = Vec::with_capacity(total.min(limit));
        let mut rest = &answer[..];
        while let Some(at) = find(rest, marker) {
            out.extend_from_slice(&rest[..at]);
            let after = &rest[at + marker.len()..];
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            let index: usize = std::str::from_utf8(&after[..digits]).ok()?.parse().ok()?;
            out.extend_from_slice(pieces.get(index)?);
            if out.len() > limit {
                return None;
            }
            // The digits and the closing quote.
            rest = after.get(digits + 1..)?;
        }
        out.extend_from_slice(rest);
        (out.len() <= limit).then_some(out)
    }
}

/// Where `needle` first stands in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(at) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let start = from + at;
        if haystack.get(start..start + needle.len())? == needle {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// Whether answers to `document` may be spliced: no fragment, and no two fields of one
/// selection set with the same response key (the executor merges those).
pub fn splice_safe(document: &ExecutableDocument) -> bool {
    fn distinct(set: &SelectionSet) -> bool {
        let mut keys = HashSet::with_capacity(set.items.len());
        set.items.iter().all(|item| match &item.node {
            Selection::Field(field) => {
                keys.insert(field.node.response_key().node.as_str())
                    && distinct(&field.node.selection_set.node)
            }
            _ => false,
        })
    }
    document.fragments.is_empty()
        && match &document.operations {
            DocumentOperations::Single(op) => distinct(&op.node.selection_set.node),
            DocumentOperations::Multiple(ops) => {
                ops.values().all(|op| distinct(&op.node.selection_set.node))
            }
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::{parse_query, types::DocumentOperations};

    fn selection(query: &str) -> SelectionSet {
        let document = parse_query(query).expect("parses");
        let DocumentOperations::Single(operation) = document.operations else {
            panic!("one operation")
        };
        operation.node.selection_set.node
    }

    #[test]
    fn plain_fields_at_any_depth_are_picked_in_the_query_order() {
        let set = selection("{ b a: c d { e __typename } }");
        let picks = picks(&set).expect("plain");
        let shape: Vec<String> = picks
            .iter()
            .map(|p| match p {
                Pick::Typename(k) => format!("{k}=__typename"),
                Pick::Own(k, n) => format!("{k}={n}"),
                Pick::Nested(k, n, sub) => format!("{k}={n}[{}]", sub.len()),
            })
            .collect();
        assert_eq!(shape, ["b=b", "a=c", "d=d[2]"]);
    }

    #[test]
    fn placeholders_are_replaced_by_their_json_and_the_limit_counts_the_whole() {
        let spliced = Spliced::default();
        let a = spliced.put(b"[1,2]".to_vec()).expect("kept");
        let b = spliced.put(b"{\"x\":\"y\"}".to_vec()).expect("kept");
        let text = |v: Value| serde_json::to_string(&v).expect("json");
        let answer = format!(r#"{{"a":{},"n":"splice","b":{}}}"#, text(a), text(b)).into_bytes();
        let out = spliced.splice(answer.clone(), 1_000).expect("fits");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"a":[1,2],"n":"splice","b":{"x":"y"}}"#
        );
        let again = Spliced::default();
        again.put(b"[1,2]".to_vec()).expect("kept");
        assert!(again.splice(answer, 10).is_none(), "over the limit");
        // A piece whose placeholder an error took away does not count against the limit.
        let dropped = Spliced::default();
        let kept = dropped.put(b"[1]".to_vec()).expect("kept");
        dropped.put(vec![b' '; 100]).expect("kept");
        let answer = format!(r#"{{"a":{}}}"#, text(kept)).into_bytes();
        assert_eq!(dropped.splice(answer, 20).expect("fits"), br#"{"a":[1]}"#);
    }

    #[test]
    fn a_document_with_fragments_or_repeated_keys_is_not_spliced() {
        let safe = |q: &str| splice_safe(&parse_query(q).expect("parses"));
        assert!(safe("{ a { b c } d: a { b } }"));
        assert!(!safe("{ a { b } a { c } }"));
        assert!(!safe("{ a { b b } }"));
        assert!(!safe("{ a { ... on T { b } } }"));
        assert!(!safe("{ a { ...F } } fragment F on T { b }"));
    }

    #[test]
    fn fragments_directives_arguments_and_repeated_keys_go_to_the_executor() {
        for query in [
            "{ a ... on T { b } }",
            "{ a ...F } fragment F on T { b }",
            "{ a @include(if: true) }",
            "{ a(x: 1) }",
            "{ a a }",
            "{ d { ... on T { e } } }",
        ] {
            assert!(picks(&selection(query)).is_none(), "{query}");
        }
    }
}
