//! Per-request, per-school DataLoaders. They are built from the request's tenant context, so a
//! batch and its cache never span two schools; every batch is one scoped query in a
//! transaction of that school. Nested lists therefore cost one statement per level, whatever
//! the number of rows.

use std::{collections::HashMap, hash::Hash, marker::PhantomData, sync::Arc, time::Duration};

use futures_util::future::BoxFuture;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    academic_history, academic_year, attendance_record, class, class_teacher, enrollment, grade,
    guardian, health_record,
    ids::*,
    incident, student, student_guardian, subject, teacher,
    tenant::{TenantScoped, TenantTx},
    term,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ModelTrait, Order, sea_query::ValueType,
};

pub use super::polls::{FirstTx, Gated, PollGate};

/// A loader's error: cloneable, as DataLoader requires.
pub type LoadError = Arc<DbErr>;

/// A loader's error as the API answers it (logged, never shown).
pub fn load_error(error: LoadError) -> crate::error::ApiError {
    crate::error::ApiError::internal(error)
}

/// The record `key` names, through `loader`, wrapped as the GraphQL type (`None` for no key or
/// no record: another school's id reads as missing).
pub async fn one<K, L, T>(
    loader: &DataLoader<L>,
    key: Option<K>,
    wrap: impl FnOnce(L::Value) -> T,
) -> crate::error::ApiResult<Option<T>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K, Error = LoadError>,
{
    let Some(key) = key else { return Ok(None) };
    Ok(loader.load_one(key).await.map_err(load_error)?.map(wrap))
}

/// The first `first` records under `key` (in the loader's order), wrapped.
pub async fn first_of<K, L, M, T>(
    loader: &DataLoader<L>,
    key: K,
    first: usize,
    wrap: impl FnMut(M) -> T,
) -> crate::error::ApiResult<Vec<T>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K, Value = Vec<M>, Error = LoadError>,
{
    let rows = loader.load_one(key).await.map_err(load_error)?;
    Ok(rows
        .unwrap_or_default()
        .into_iter()
        .take(first)
        .map(wrap)
        .collect())
}

/// How long a loader waits to gather keys before querying, once the request is between polls
/// (see [`PollGate`]). The gate does the gathering, so no timer is needed.
pub const LOADER_DELAY: Duration = Duration::ZERO;

/// The most keys in one batch (each becomes a bind parameter of one `IN (…)`).
pub const MAX_BATCH: usize = 5_000;

fn loader<L: Send + Sync + 'static>(inner: L, gate: &Arc<PollGate>) -> DataLoader<L> {
    let gate = gate.clone();
    let spawn = move |batch: BoxFuture<'static, ()>| {
        let gate = gate.clone();
        tokio::spawn(async move {
            gate.wait_idle().await;
            batch.await;
        })
    };
    DataLoader::new(inner, spawn)
        .delay(LOADER_DELAY)
        .max_batch_size(MAX_BATCH)
}

/// Rows of `E` by id.
#[allow(missing_debug_implementations)]
pub struct ById<E> {
    db: DatabaseConnection,
    school: SchoolId,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<E::Id> for ById<E>
where
    E: TenantScoped,
    E::Id: ValueType + Hash + Eq + Clone,
    E::Model: Clone + Send + Sync,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[E::Id]) -> Result<HashMap<E::Id, E::Model>, LoadError> {
        let tx = TenantTx::begin(&self.db, self.school).await?;
        let rows = tx
            .all(
                tx.find::<E>()
                    .filter(E::id_column().is_in(keys.iter().copied())),
            )
            .await?;
        tx.commit().await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let id = <E::Id as ValueType>::try_from(row.get(E::id_column()))
                .map_err(|e| Arc::new(DbErr::Type(e.to_string())))?;
            out.insert(id, row);
        }
        Ok(out)
    }
}

/// Rows of `E` grouped by the value of one column (e.g. students by class), in a stable order.
#[allow(missing_debug_implementations)]
pub struct ByColumn<E: EntityTrait, K> {
    db: DatabaseConnection,
    school: SchoolId,
    column: E::Column,
    order: Vec<E::Column>,
    _key: PhantomData<fn() -> K>,
}

impl<E, K> Loader<K> for ByColumn<E, K>
where
    E: TenantScoped,
    E::Model: Clone + Send + Sync,
    K: ValueType + Into<sea_orm::Value> + Hash + Eq + Clone + Copy + Send + Sync + 'static,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Vec<E::Model>>, LoadError> {
        let tx = TenantTx::begin(&self.db, self.school).await?;
        let mut select = tx
            .find::<E>()
            .filter(self.column.is_in(keys.iter().copied()));
        for column in &self.order {
            select = select.order_by(*column, Order::Asc);
        }
        let rows = tx.all(select).await?;
        tx.commit().await?;
        let mut out: HashMap<K, Vec<E::Model>> = HashMap::new();
        for row in rows {
            let key = <K as ValueType>::try_from(row.get(self.column))
                .map_err(|e| Arc::new(DbErr::Type(e.to_string())))?;
            out.entry(key).or_default().push(row);
        }
        Ok(out)
    }
}

/// The loaders of one request in one school.
pub struct Loaders {
    /// Students by id.
    pub student: DataLoader<ById<student::Entity>>,
    /// Classes by id.
    pub class: DataLoader<ById<class::Entity>>,
    /// Teachers by id.
    pub teacher: DataLoader<ById<teacher::Entity>>,
    /// Subjects by id.
    pub subject: DataLoader<ById<subject::Entity>>,
    /// Assessments by id.
    pub assessment: DataLoader<ById<entity::assessment::Entity>>,
    /// Terms by id.
    pub term: DataLoader<ById<term::Entity>>,
    /// Academic years by id.
    pub academic_year: DataLoader<ById<academic_year::Entity>>,
    /// A class's students (homeroom), by name.
    pub students_by_class: DataLoader<ByColumn<student::Entity, ClassId>>,
    /// A student's grades, by date.
    pub grades_by_student: DataLoader<ByColumn<grade::Entity, StudentId>>,
    /// A student's grades with only some columns, by date.
    pub grade_lines: DataLoader<crate::graphql::lines::GradeLines>,
    /// A student's attendance, by date and period.
    pub attendance_by_student: DataLoader<ByColumn<attendance_record::Entity, StudentId>>,
    /// Teacher assignments by class.
    pub teachers_of_class: DataLoader<ByColumn<class_teacher::Entity, ClassId>>,
    /// Teacher assignments by teacher.
    pub classes_of_teacher: DataLoader<ByColumn<class_teacher::Entity, TeacherId>>,
    /// A year's terms, by start date.
    pub terms_by_year: DataLoader<ByColumn<term::Entity, AcademicYearId>>,
    /// Guardians by id.
    pub guardian: DataLoader<ById<guardian::Entity>>,
    /// A student's guardian links.
    pub guardians_of_student: DataLoader<ByColumn<student_guardian::Entity, StudentId>>,
    /// A student's incidents, by date.
    pub incidents_by_student: DataLoader<ByColumn<incident::Entity, StudentId>>,
    /// A student's health records.
    pub health_by_student: DataLoader<ByColumn<health_record::Entity, StudentId>>,
    /// A student's enrollments.
    pub enrollments_by_student: DataLoader<ByColumn<enrollment::Entity, StudentId>>,
    /// A class's enrollments.
    pub enrollments_by_class: DataLoader<ByColumn<enrollment::Entity, ClassId>>,
    /// A student's history lines.
    pub history_by_student: DataLoader<ByColumn<academic_history::Entity, StudentId>>,
    /// Students' model features (four grouped queries per batch).
    pub features: DataLoader<FeaturesLoader>,
    /// The school's active model, loaded once per request.
    active_model: tokio::sync::OnceCell<Option<entity::ml_model::Model>>,
    /// The school's ABC scores, found once per request (and cached across requests).
    risks: tokio::sync::OnceCell<std::sync::Arc<crate::insights::analytics::RiskTable>>,
    db: DatabaseConnection,
    school: SchoolId,
    first: Arc<FirstTx>,
}

/// Students' model features, by student.
#[allow(missing_debug_implementations)]
pub struct FeaturesLoader {
    db: DatabaseConnection,
    school: SchoolId,
}

impl Loader<StudentId> for FeaturesLoader {
    type Value = crate::insights::Features;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[StudentId],
    ) -> Result<HashMap<StudentId, crate::insights::Features>, LoadError> {
        let tx = TenantTx::begin(&self.db, self.school).await?;
        let rows = crate::insights::features(&tx, Some(keys)).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|f| (f.student, f)).collect())
    }
}

impl std::fmt::Debug for Loaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaders").finish_non_exhaustive()
    }
}

/// What every loader of one request is built from: the connection, the school and the gate.
struct Build<'a> {
    db: &'a DatabaseConnection,
    school: SchoolId,
    gate: &'a Arc<PollGate>,
}

impl Build<'_> {
    /// A loader of `E` rows by id.
    fn by_id<E: EntityTrait>(&self) -> DataLoader<ById<E>>
    where
        ById<E>: Send + Sync + 'static,
    {
        loader(
            ById {
                db: self.db.clone(),
                school: self.school,
                _entity: PhantomData,
            },
            self.gate,
        )
    }

    /// A loader of `E` rows grouped by `column`, sorted by `order`.
    fn by_column<E: EntityTrait, K>(
        &self,
        column: E::Column,
        order: Vec<E::Column>,
    ) -> DataLoader<ByColumn<E, K>>
    where
        ByColumn<E, K>: Send + Sync + 'static,
    {
        loader(
            ByColumn {
                db: self.db.clone(),
                school: self.school,
                column,
                order,
                _key: PhantomData,
            },
            self.gate,
        )
    }
}

impl Loaders {
    /// Loaders for `school`, on `db`. Their batches run after the request's first poll, when
    /// `first`'s transaction has been taken or given back; the once-per-request reads below
    /// (the ABC scores, the active model) may run in that poll and take it.
    pub fn new(
        db: &DatabaseConnection,
        school: SchoolId,
        gate: &Arc<PollGate>,
        first: &Arc<FirstTx>,
    ) -> Self {
        let build = Build { db, school, gate };
        Self {
            student: build.by_id(),
            class: build.by_id(),
            teacher: build.by_id(),
            subject: build.by_id(),
            assessment: build.by_id(),
            term: build.by_id(),
            academic_year: build.by_id(),
            students_by_class: build.by_column(
                student::Column::ClassId,
                vec![
                    student::Column::LastName,
                    student::Column::FirstName,
                    student::Column::Id,
                ],
            ),
            grades_by_student: build.by_column(
                grade::Column::StudentId,
                vec![grade::Column::GradedOn, grade::Column::Id],
            ),
            grade_lines: loader(
                crate::graphql::lines::GradeLines {
                    db: db.clone(),
                    school,
                },
                gate,
            ),
            attendance_by_student: build.by_column(
                attendance_record::Column::StudentId,
                vec![
                    attendance_record::Column::Date,
                    attendance_record::Column::Period,
                ],
            ),
            teachers_of_class: build.by_column(
                class_teacher::Column::ClassId,
                vec![class_teacher::Column::Id],
            ),
            classes_of_teacher: build.by_column(
                class_teacher::Column::TeacherId,
                vec![class_teacher::Column::Id],
            ),
            terms_by_year: build
                .by_column(term::Column::AcademicYearId, vec![term::Column::StartDate]),
            guardian: build.by_id(),
            guardians_of_student: build.by_column(
                student_guardian::Column::StudentId,
                vec![student_guardian::Column::Id],
            ),
            incidents_by_student: build.by_column(
                incident::Column::StudentId,
                vec![incident::Column::OccurredOn, incident::Column::Id],
            ),
            health_by_student: build.by_column(
                health_record::Column::StudentId,
                vec![health_record::Column::Id],
            ),
            enrollments_by_student: build
                .by_column(enrollment::Column::StudentId, vec![enrollment::Column::Id]),
            enrollments_by_class: build
                .by_column(enrollment::Column::ClassId, vec![enrollment::Column::Id]),
            history_by_student: build.by_column(
                academic_history::Column::StudentId,
                vec![academic_history::Column::Id],
            ),
            features: loader(
                FeaturesLoader {
                    db: db.clone(),
                    school,
                },
                gate,
            ),
            active_model: tokio::sync::OnceCell::new(),
            risks: tokio::sync::OnceCell::new(),
            db: db.clone(),
            school,
            first: first.clone(),
        }
    }

    /// The school's ABC scores: from `cache` at `version` (the data version read with the
    /// request: no round trip) or at the version a transaction reads, else computed (and
    /// cached); once per request.
    /// Whether this request has the ABC scores already.
    pub fn risks_ready(&self) -> bool {
        self.risks.initialized()
    }

    pub async fn risks(
        &self,
        cache: &crate::insights::cache::AnalyticsCache,
        version: i64,
    ) -> Result<std::sync::Arc<crate::insights::analytics::RiskTable>, DbErr> {
        self.risks
            .get_or_try_init(|| async {
                if let Some(hit) = cache
                    .get(self.school, version, crate::insights::analytics::RISKS_KEY)
                    .and_then(|e| e.downcast().ok())
                {
                    return Ok(hit);
                }
                let tx = self.first.begin(&self.db, self.school).await?;
                let table = crate::insights::analytics::risk_table(&tx, cache).await?;
                tx.commit().await?;
                Ok(table)
            })
            .await
            .cloned()
    }

    /// The school's active model for the final score (the newest), loaded once per request.
    pub async fn active_model(&self) -> Result<Option<entity::ml_model::Model>, DbErr> {
        self.active_model
            .get_or_try_init(|| async {
                let tx = self.first.begin(&self.db, self.school).await?;
                let model = crate::insights::active_model(&tx).await?;
                tx.commit().await?;
                Ok(model)
            })
            .await
            .cloned()
    }
}
