//! One GraphQL operation over HTTP or a socket: nesting and aliases, the price, the school's
//! budget and permits, the heavy lane, and the audit of health reads.

use std::sync::Arc;

use async_graphql::{
    Request as GqlRequest, Response as GqlResponse,
    parser::types::{ExecutableDocument, Selection},
};
use axum::http::{HeaderMap, Method};
use serde_json::json;

use crate::{
    error::{ApiError, ErrorCode},
    graphql::{
        AppSchema,
        context::{Commits, HealthReads, HoldsHeavyPermit},
        flat::{Distinct, Spliced, splice_safe},
        limits,
        loaders::{FirstTx, Gated, Loaders, PollGate},
    },
    services::audit,
    state::AppState,
    tenant::{self, RequestIdentity},
};
use entity::{ids::SchoolId, tenant::TenantTx};

/// The root fields that take an upload: only these may come as a multipart request.
const UPLOAD_FIELDS: [&str; 4] = [
    "importStudents",
    "importGrades",
    "importAttendance",
    "importOneRoster",
];

/// Whether the operation of `document` that would run is a mutation of upload fields only.
fn is_upload(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let operation = match &document.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => operation_name.and_then(|name| ops.get(name)),
    };
    operation.is_some_and(|op| {
        op.node.ty == OperationType::Mutation
            && op.node.selection_set.node.items.iter().all(|item| {
                matches!(&item.node, Selection::Field(f)
                    if UPLOAD_FIELDS.contains(&f.node.name.node.as_str()))
            })
    })
}

/// One GraphQL call's surroundings.
pub(super) struct Call<'a> {
    pub(super) state: &'a AppState,
    /// The schema the call runs on.
    pub(super) schema: &'a AppSchema,
    pub(super) headers: &'a HeaderMap,
    pub(super) method: &'a Method,
    pub(super) client: String,
    /// The identity, when it was already resolved (an upload, or an operation on a socket).
    pub(super) resolved: Option<RequestIdentity>,
    /// Whether the request is a multipart upload (which must be an upload mutation).
    pub(super) upload: bool,
    /// Set when the request ran on the heavy lane.
    pub(super) heavy: &'a std::sync::atomic::AtomicBool,
    /// Where big lists may leave their JSON for the answer (HTTP only).
    pub(super) spliced: Option<&'a Arc<Spliced>>,
    /// `http` or `ws`, for the metrics.
    pub(super) transport: &'static str,
}

/// What metrics and logs say of one operation, learnt as it runs.
#[derive(Default)]
struct Facts {
    /// `query:students`, … once the document passed validation.
    label: Option<String>,
    school: Option<SchoolId>,
    cost: u64,
}

/// Runs one operation, then counts it in the metrics and names it in the request's log line.
pub(super) async fn run(call: Call<'_>, request: GqlRequest) -> GqlResponse {
    let started = std::time::Instant::now();
    let (metrics, transport) = (&call.state.metrics, call.transport);
    if let Some(name) = &request.operation_name {
        let name: String = name.chars().take(100).collect();
        tracing::Span::current().record("operation_name", name.as_str());
    }
    let mut facts = Facts::default();
    let response = execute(call, request, &mut facts).await;
    let label = facts.label.as_deref().unwrap_or("invalid");
    tracing::Span::current().record("operation", label);
    let code = response
        .errors
        .first()
        .and_then(|e| match e.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.as_str()),
            _ => None,
        })
        .unwrap_or("OK");
    metrics.record(&crate::telemetry::metrics::Operation {
        transport,
        label,
        code,
        school: facts.school.map(|s| s.0),
        cost: facts.cost,
        elapsed: started.elapsed(),
    });
    response
}

async fn execute(call: Call<'_>, mut request: GqlRequest, facts: &mut Facts) -> GqlResponse {
    let (state, schema) = (call.state, call.schema);
    // Nesting and aliases before anything else; the document is parsed once (a syntax error
    // is reported by the pricing below, as the executor words it).
    let document = match limits::parse_checked(&request.query) {
        Ok(document) => document,
        Err(refusal) => return limits::too_complex(refusal),
    };
    let operation = request.operation_name.as_deref();
    // A GET can be triggered by a link or an image tag: it may only read.
    if call.method == Method::GET
        && document
            .as_ref()
            .is_some_and(|d| limits::is_mutation(d, operation))
    {
        return post_only();
    }
    if call.upload && document.as_ref().is_some_and(|d| !is_upload(d, operation)) {
        return limits::error_response(
            ErrorCode::BadUserInput,
            format!(
                "a multipart request must be one of the upload mutations ({}); send anything else as JSON",
                UPLOAD_FIELDS.join(", ")
            ),
        );
    }
    // Priced before anything runs or touches the database: validation, the price and the
    // limit, and nothing else.
    let cost = limits::CostSlot::default();
    let mut pricing = GqlRequest::new(request.query.clone())
        .variables(request.variables.clone())
        .data(cost.clone())
        .data(limits::PriceOnly);
    pricing.operation_name = request.operation_name.clone();
    if let Some(document) = &document {
        pricing.set_parsed_query(document.clone());
    }
    let priced = schema.checked.execute(pricing).await;
    if !priced.errors.is_empty() {
        let mut priced = priced;
        limits::classify_errors(&mut priced);
        return priced;
    }
    let cost = cost.get().unwrap_or_default() as u64;
    facts.cost = cost;
    facts.label = document
        .as_ref()
        .map(|d| super::order::metric_label(d, operation));
    // A query (not a mutation, which writes in transactions of its own) resolved here reads
    // its identity in the transaction its first read of the school's data will use.
    let reads_only = document
        .as_ref()
        .is_some_and(|d| limits::is_query(d, operation));
    let keys = document
        .as_ref()
        .map(|d| super::order::root_keys(d, operation));
    let (identity, mut first) = match call.resolved {
        Some(identity) => (identity, None),
        None if reads_only => {
            tenant::resolve_binding(state.sources(), call.headers, call.client).await
        }
        None => (
            tenant::resolve(state.sources(), call.headers, call.client).await,
            None,
        ),
    };
    let tenant = identity
        .tenant
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|t| (t.school_id(), t.actor.clone()));
    facts.school = tenant.as_ref().map(|(school, _)| *school);
    let turn = match &tenant {
        Some((school, _)) => match take_turn(state, *school, cost, &mut first).await {
            Ok(turn) => Some(turn),
            Err(refused) => return refusal(refused),
        },
        None => None,
    };
    let heavy = turn.as_ref().is_some_and(|t| t.heavy.is_some());
    if heavy {
        request = request.data(HoldsHeavyPermit);
    }
    if let Some(document) = document {
        if splice_safe(&document) {
            request = request.data(Distinct);
            if let Some(spliced) = call.spliced {
                request = request.data(spliced.clone());
            }
        }
        request.set_parsed_query(document);
    }
    let commits = Commits::default();
    request = request.data(state.clone()).data(commits.clone());
    let health_reads = HealthReads::default();
    let gate = Arc::new(PollGate::default());
    let first = Arc::new(FirstTx::new(first));
    gate.release_after_first_poll(first.clone());
    if let Some((school, _)) = &tenant {
        request = request
            .data(Loaders::new(&state.db, *school, &gate, &first))
            .data(first.clone())
            .data(health_reads.clone());
    }
    let request = request.data(identity);
    // An expensive query runs on the heavy lane's threads, leaving the server's to everyday
    // requests (of every school).
    let mut response = if heavy {
        call.heavy.store(true, std::sync::atomic::Ordering::Relaxed);
        let schema = schema.clone();
        let work = async move { Gated::new(schema.run.execute(request), gate).await };
        match state.heavy_lane.run(work).await {
            Ok(response) => response,
            Err(failed) => return refusal(failed),
        }
    } else {
        Gated::new(schema.run.execute(request), gate).await
    };
    if let Some((school, actor)) = tenant {
        let students = health_reads.take();
        if !students.is_empty() {
            let entry = audit::Entry::new("health.read").details(json!({ "students": students }));
            if let Err(e) = audit::write_now(&state.db, school, Some(&actor), entry).await {
                // A read that cannot be audited is not answered.
                tracing::error!(error = %e, "cannot audit a health read");
                return limits::error_response(
                    ErrorCode::InternalServerError,
                    "internal server error".to_owned(),
                );
            }
        }
    }
    super::order::in_query_order(&mut response.data, keys.as_deref().unwrap_or_default());
    limits::classify_errors(&mut response);
    mark_committed(&mut response.errors, &commits.committed());
    let charge = turn.as_ref().map(|t| &t.charge);
    response.extensions.insert(
        "cost".to_owned(),
        cost_extension(cost, state.config.limits.query_max_cost, charge),
    );
    response
}

/// `extensions.cost`: the operation's price, the limit, and the school's budget left.
fn cost_extension(
    cost: u64,
    limit: usize,
    charge: Option<&crate::budget::Charge>,
) -> async_graphql::Value {
    async_graphql::Value::from_json(match charge {
        Some(charge) => json!({
            "requested": cost,
            "limit": limit,
            "remaining": charge.remaining,
            "perMinute": charge.per_minute,
        }),
        None => json!({ "requested": cost, "limit": limit }),
    })
    .unwrap_or_default()
}

/// What a school's request holds while it runs: its charge, its place among the school's
/// requests in execution and, for an expensive one, a heavy-work permit.
struct Turn {
    charge: crate::budget::Charge,
    _admission: crate::budget::Admission,
    heavy: Option<crate::budget::HeavyPermit>,
}

/// Charges `cost` to `school` and waits for the request's turn: a school's requests run at
/// most so many at a time, and an expensive one is heavy work too. A request that has to wait
/// gives `first`'s connection back before it waits.
async fn take_turn(
    state: &AppState,
    school: SchoolId,
    cost: u64,
    first: &mut Option<TenantTx>,
) -> Result<Turn, ApiError> {
    let charge = state.budgets.charge(school, cost)?;
    let admission = match state.budgets.try_admit(school) {
        Some(admission) => admission,
        None => {
            *first = None;
            state.budgets.admit(school).await?
        }
    };
    let heavy = if cost >= state.config.limits.heavy_query_cost as u64 {
        *first = None;
        Some(state.budgets.heavy(school).await?)
    } else {
        None
    };
    Ok(Turn {
        charge,
        _admission: admission,
        heavy,
    })
}

/// Errors under a mutation field whose change committed (raised while its answer was read
/// back) say that the change was saved, with `extensions.committed`, so a client never retries
/// or reports as failed a write that happened.
fn mark_committed(errors: &mut [async_graphql::ServerError], committed: &[String]) {
    if committed.is_empty() {
        return;
    }
    for error in errors {
        let under = matches!(
            error.path.first(),
            Some(async_graphql::PathSegment::Field(field)) if committed.contains(field)
        );
        if under {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            let unavailable = extensions.get("code")
                == Some(&async_graphql::Value::from(
                    ErrorCode::ServiceUnavailable.as_str(),
                ));
            extensions.set("committed", true);
            error.message = if unavailable {
                // Not "nothing was done, retry": the change is saved, and a retry would repeat it.
                extensions.set("code", ErrorCode::InternalServerError.as_str());
                extensions.unset("retryAfterSeconds");
                "the change was saved, but its answer could not be read back (the database \
                 became unavailable); do not send it again"
                    .to_owned()
            } else {
                format!(
                    "the change was saved, but its answer could not be read back: {}",
                    error.message
                )
            };
        }
    }
}

/// A mutation sent over GET, refused: the handler answers 405 with this `Allow` header.
fn post_only() -> GqlResponse {
    let mut refused = limits::error_response(
        ErrorCode::BadUserInput,
        "mutations must be sent with POST".to_owned(),
    );
    let allow = axum::http::HeaderValue::from_static("POST");
    refused
        .http_headers
        .insert(axum::http::header::ALLOW, allow);
    refused
}

/// A request refused by a budget, as a response.
fn refusal(error: ApiError) -> GqlResponse {
    let error: async_graphql::Error = error.into();
    GqlResponse::from_errors(vec![error.into_server_error(Default::default())])
}
