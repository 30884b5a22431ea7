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
/// Most selections in a document once every fragment is counted where it is spread: the
/// validator and the executor walk the document that way, so `…F1 …F1` in `F0`, `…F2 …F2` in
/// `F1`, and so on, would have them visit 2^30 selections from a few hundred bytes.
pub const MAX_SELECTIONS: usize = 10_000;

/// The introspection fields whose items are types with fields of their own.
const TYPE_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];

/// The deepest data path, the deepest nesting of type lists, and the number of selections
/// (fragments counted where they are spread) under a selection set.
#[derive(Clone, Copy, Default)]
struct Reach {
    data: usize,
    type_lists: usize,
    selections: usize,
}

impl Reach {
    /// Two sibling selections: the deeper of each depth, the sum of their sizes.
    fn beside(self, other: Self) -> Self {
        Self {
            data: self.data.max(other.data),
            type_lists: self.type_lists.max(other.type_lists),
            selections: self.selections.saturating_add(other.selections),
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
                        selections: below.selections.saturating_add(1),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())?
                }
            };
            reach = reach.beside(found);
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
    let mut selections = 0usize;
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
        selections = selections.saturating_add(reach.selections);
        if selections > MAX_SELECTIONS {
            return Err(format!(
                "the query has more than {MAX_SELECTIONS} selections once its fragments are \
                 counted where they are spread"
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

    /// `{ ...F0 }` and 30 fragments, each holding `level` (with `{next}` naming the next
    /// fragment), then `F30 { last }`: 2^31 paths when `level` spreads the next one twice.
    fn lattice(level: &str, last: &str) -> String {
        let mut query = String::from("{ ...F0 }");
        for i in 0..30 {
            let body = level.replace("{next}", &format!("F{}", i + 1));
            query.push_str(&format!(" fragment F{i} on Query {{ {body} }}"));
        }
        query.push_str(&format!(" fragment F30 on Query {{ {last} }}"));
        query
    }

    /// Checks `query` and fails if that takes a second or more.
    fn checked_at_once(query: &str) -> Result<(), String> {
        let started = std::time::Instant::now();
        let result = checked(query);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        result
    }

    #[test]
    fn a_fragment_spread_twice_at_every_level_is_refused_by_its_expanded_size() {
        // About 1 KB, nesting 1 deep, no alias: 2^31 selections once spread.
        let refused = checked_at_once(&lattice("...{next} ...{next}", "apiVersion")).unwrap_err();
        assert!(refused.contains("selections"), "{refused}");
        // Spread a few times, as real queries do, it passes.
        let fine = "{ a: students { ...S } b: teachers { ...S } } fragment S on X { id name }";
        assert_eq!(checked(fine), Ok(()));
    }

    #[test]
    fn fragments_spread_many_times_are_measured_once() {
        let query = lattice("a: x { ...{next} } b: x { ...{next} }", "y");
        assert!(checked_at_once(&query).unwrap_err().contains("deep"));
    }
}
