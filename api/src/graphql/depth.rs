//! How deep a query nests, checked on the parsed document before it is validated or priced.
//!
//! Data fields nest at most [`MAX_DEPTH`] deep. The schema's own description (`__schema`,
//! `__type`) is exempt from that count, since the standard introspection query that GraphiQL and
//! every client tool send is nested deeper, but within it the lists that expand into more types
//! (`fields`, `interfaces`, `possibleTypes`, `inputFields`) nest at most
//! [`MAX_TYPE_LISTS`] deep, as graphql-js's own introspection rule has it: without that,
//! `fields { type { fields { type { … } } } }` would multiply the schema's size at every level
//! for the price of a handful of fields. Fragments are measured once each, so a document that
//! spreads fragments many times is measured in time proportional to its length.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Deepest nesting of data fields.
pub const MAX_DEPTH: usize = 12;
/// Deepest nesting of the introspection lists that expand into more types.
pub const MAX_TYPE_LISTS: usize = 2;
/// Longest chain of fragments spread inside one another.
const MAX_FRAGMENT_CHAIN: usize = 32;

/// The introspection fields whose items are types with fields of their own.
const TYPE_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];

/// The deepest data path and the deepest nesting of type lists under a selection set.
#[derive(Clone, Copy, Default)]
struct Reach {
    data: usize,
    type_lists: usize,
}

impl Reach {
    fn max(self, other: Self) -> Self {
        Self {
            data: self.data.max(other.data),
            type_lists: self.type_lists.max(other.type_lists),
        }
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    memo: HashMap<&'a str, Reach>,
    chain: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Result<Reach, String> {
        let mut reach = Reach::default();
        for item in &set.items {
            let found = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let below = self.set(&field.node.selection_set.node)?;
                    let introspection = name == "__schema" || name == "__type";
                    Reach {
                        data: if introspection { 0 } else { below.data + 1 },
                        type_lists: below.type_lists + usize::from(TYPE_LISTS.contains(&name)),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())?
                }
            };
            reach = reach.max(found);
        }
        Ok(reach)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Reach, String> {
        if let Some(reach) = self.memo.get(name) {
            return Ok(*reach);
        }
        // A fragment spread inside itself is refused by validation; measured as empty here.
        if self.chain.contains(&name) {
            return Ok(Reach::default());
        }
        if self.chain.len() >= MAX_FRAGMENT_CHAIN {
            return Err(format!(
                "fragments are spread inside one another more than {MAX_FRAGMENT_CHAIN} deep"
            ));
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Reach::default());
        };
        self.chain.push(name);
        let reach = self.set(&fragment.node.selection_set.node);
        self.chain.pop();
        let reach = reach?;
        self.memo.insert(name, reach);
        Ok(reach)
    }
}

/// Checks every operation of `document`; the error is the refusal's message.
pub fn check(document: &ExecutableDocument) -> Result<(), String> {
    let mut walk = Walk {
        document,
        memo: HashMap::new(),
        chain: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        let reach = walk.set(&operation.node.selection_set.node)?;
        if reach.data > MAX_DEPTH {
            return Err(format!(
                "the query nests fields {} deep; the limit is {MAX_DEPTH}",
                reach.data
            ));
        }
        if reach.type_lists > MAX_TYPE_LISTS {
            return Err(format!(
                "the introspection query nests {} lists of types (fields, interfaces, \
                 possibleTypes, inputFields) inside one another; the limit is {MAX_TYPE_LISTS}",
                reach.type_lists
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn checked(query: &str) -> Result<(), String> {
        check(&parse_query(query).expect("parses"))
    }

    /// `{ a { a { … x … } } }`: `n` fields `a`, then `x` (fields `n + 1` deep).
    fn nested(n: usize) -> String {
        format!("{{ {}x{} }}", "a { ".repeat(n), " }".repeat(n))
    }

    #[test]
    fn data_fields_nest_at_most_twelve_deep() {
        assert!(checked(&nested(11)).is_ok());
        let refused = checked(&nested(12)).unwrap_err();
        assert!(refused.contains("13 deep"), "{refused}");
        let through_fragments = "{ a { ...F } } fragment F on T { a { a { a { a { a { a { a { a { a { a { a { x } } } } } } } } } } } }";
        assert!(checked(through_fragments).unwrap_err().contains("13 deep"));
    }

    #[test]
    fn the_standard_introspection_query_passes_but_type_lists_nest_at_most_twice() {
        let standard = "query { __schema { types { ...T } } } fragment T on __Type { kind name fields { name args { name type { ...R } } type { ...R } } inputFields { name type { ...R } } interfaces { ...R } possibleTypes { ...R } } fragment R on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }";
        assert_eq!(checked(standard), Ok(()));
        assert!(checked("{ __schema { types { fields { type { fields { name } } } } } }").is_ok());
        let blowup =
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert!(checked(blowup).unwrap_err().contains("3 lists"));
        let hidden = "{ __type(name: \"Student\") { ...A } } fragment A on __Type { fields { type { ...B } } } fragment B on __Type { interfaces { ...C } } fragment C on __Type { possibleTypes { name } }";
        assert!(checked(hidden).unwrap_err().contains("3 lists"));
    }

    #[test]
    fn fragments_spread_many_times_are_measured_once() {
        // 2^30 paths if every spread were walked again.
        let mut query = String::from("{ ...F0 }");
        for i in 0..30 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ a: x {{ ...F{n} }} b: x {{ ...F{n} }} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F30 on Query { y }");
        let started = std::time::Instant::now();
        assert!(checked(&query).unwrap_err().contains("deep"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
