//! Text the service can store, checked once at the edge: every string a request carries (in
//! the query's arguments, in variable defaults, in variables) is refused with `BAD_USER_INPUT`
//! naming where it was if it holds a control character other than tab, line feed and carriage
//! return. PostgreSQL cannot store U+0000 at all, and both backends must hold the same data, so
//! no resolver ever sees such text.

use async_graphql::{
    ErrorExtensions, Pos, ServerError, Variables,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

use crate::{error::ApiError, rules::unstorable_char};

/// The first string of `document` or `variables` that cannot be stored, as an error naming it
/// (`input.firstName` for an argument, `$input.firstName` for a variable).
pub fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    for (name, value) in variables.iter() {
        check_const(&format!("${name}"), value, Pos::default())?;
    }
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let path = format!("${}", definition.node.name.node);
                check_const(&path, &default.node, default.pos)?;
            }
        }
        check_selections(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        check_selections(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn check_selections(set: &SelectionSet) -> Result<(), ServerError> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    check_value(&name.node, &value.node, value.pos)?;
                }
                for directive in &field.node.directives {
                    for (name, value) in &directive.node.arguments {
                        check_value(&name.node, &value.node, value.pos)?;
                    }
                }
                check_selections(&field.node.selection_set.node)?;
            }
            Selection::InlineFragment(fragment) => {
                check_selections(&fragment.node.selection_set.node)?;
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

fn refuse(path: &str, c: char, pos: Pos) -> ServerError {
    ApiError::bad_field(
        path,
        format!(
            "holds the control character U+{:04X}, which cannot be stored",
            c as u32
        ),
    )
    .extend()
    .into_server_error(pos)
}

fn check_str(path: &str, text: &str, pos: Pos) -> Result<(), ServerError> {
    match unstorable_char(text) {
        Some(c) => Err(refuse(path, c, pos)),
        None => Ok(()),
    }
}

fn check_value(path: &str, value: &Value, pos: Pos) -> Result<(), ServerError> {
    match value {
        Value::String(s) => check_str(path, s, pos),
        Value::List(items) => items.iter().try_for_each(|v| check_value(path, v, pos)),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(k, v)| check_value(&format!("{path}.{k}"), v, pos)),
        _ => Ok(()),
    }
}

fn check_const(path: &str, value: &ConstValue, pos: Pos) -> Result<(), ServerError> {
    match value {
        ConstValue::String(s) => check_str(path, s, pos),
        ConstValue::List(items) => items.iter().try_for_each(|v| check_const(path, v, pos)),
        ConstValue::Object(fields) => fields
            .iter()
            .try_for_each(|(k, v)| check_const(&format!("{path}.{k}"), v, pos)),
        _ => Ok(()),
    }
}
