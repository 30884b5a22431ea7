//! The tenant layer: the only code that reads or writes school-owned tables.
//!
//! A [`TenantTx`] is a transaction bound to one school. On PostgreSQL it sets
//! `app.school_id` for the transaction only (`set_config(…, true)`), which row-level security
//! checks; on both backends every statement it runs also carries `school_id = $school`
//! explicitly. It deliberately does not implement SeaORM's `ConnectionTrait`, so an unscoped
//! `Entity::find().all(&tx)` cannot compile: reads start from [`TenantTx::find`], which returns a
//! [`TenantSelect`] already filtered by school that callers can only narrow. Inserts take
//! `school_id` from the transaction, never from the caller. Updates and deletes that touch no
//! row are [`TenantError::NotFound`], whether the row is missing or belongs to another school.
//!
//! Outside this module, clippy's `disallowed-methods` forbids `EntityTrait::find`,
//! `find_by_id`, `update_many`, `delete_many` and raw SQL (see `clippy.toml`).
#![allow(clippy::disallowed_methods)] // This module is the one place allowed to build queries.

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IntoActiveModel, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, TransactionTrait, Value,
    sea_query::IntoCondition,
};

use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};

use crate::{ids::*, school_data_version};

/// A tenant-owned entity: keyed `(school_id, id)`.
pub trait TenantScoped: EntityTrait {
    /// The entity's id newtype.
    type Id: Into<Value> + Copy + Send + Sync + 'static;
    /// The `school_id` column.
    fn school_column() -> Self::Column;
    /// The `id` column.
    fn id_column() -> Self::Column;
}

macro_rules! tenant_scoped {
    ($($module:ident => $id:ty),* $(,)?) => {$(
        impl TenantScoped for crate::$module::Entity {
            type Id = $id;
            fn school_column() -> Self::Column {
                crate::$module::Column::SchoolId
            }
            fn id_column() -> Self::Column {
                crate::$module::Column::Id
            }
        }
    )*};
}

tenant_scoped! {
    teacher => TeacherId,
    subject => SubjectId,
    academic_year => AcademicYearId,
    term => TermId,
    class => ClassId,
    class_teacher => ClassTeacherId,
    student => StudentId,
    enrollment => EnrollmentId,
    guardian => GuardianId,
    student_guardian => StudentGuardianId,
    assessment => AssessmentId,
    grade => GradeId,
    attendance_record => AttendanceRecordId,
    incident => IncidentId,
    health_record => HealthRecordId,
    student_document => StudentDocumentId,
    academic_history => AcademicHistoryId,
    import_log => ImportLogId,
    ml_model => MlModelId,
    audit_log => AuditLogId,
    school_configuration => SchoolConfigurationId,
    feature_usage => FeatureUsageId,
}

/// What can go wrong in a scoped operation.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// No row with that id in this school (it may exist in another school: callers can't tell).
    #[error("not found")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A transaction bound to one school.
#[derive(Debug)]
pub struct TenantTx {
    tx: DatabaseTransaction,
    school_id: SchoolId,
    /// Whether this transaction changed the school's data (not just its audit log or usage
    /// counters); if so, committing bumps the school's data version.
    changed: AtomicBool,
    /// Whether this transaction was begun to write (see [`crate::writer`]).
    writes: bool,
    /// Whether anything was written (school data or bookkeeping).
    wrote: AtomicBool,
    /// Set once this transaction has committed (see [`TenantTx::report_commit_to`]).
    committed: Option<std::sync::Arc<AtomicBool>>,
    /// The writer's turn on SQLite, released after the transaction (fields drop in order).
    _turn: Option<crate::writer::WriteTurn>,
}

/// Tables whose writes are bookkeeping, not school data: they do not bump the data version.
const BOOKKEEPING: &[&str] = &["audit_log", "feature_usage", "import_logs", "ml_models"];

impl TenantTx {
    /// Begins a transaction for `school_id`; on PostgreSQL also sets `app.school_id` for this
    /// transaction only, so row-level security applies and nothing carries over to the next
    /// user of the pooled connection.
    ///
    /// This transaction reads. On SQLite a transaction that writes must be begun with
    /// [`TenantTx::begin_write`] (or [`TenantTx::nested`] inside a write transaction).
    pub async fn begin(
        conn: &impl TransactionTrait<Transaction = DatabaseTransaction>,
        school_id: SchoolId,
    ) -> Result<Self, DbErr> {
        Self::scope(conn.begin().await?, school_id, false, None).await
    }

    /// Begins a transaction for `school_id` that may write: on SQLite it waits for the
    /// database's single writer turn and takes the write lock as it begins, so it never fails
    /// half-way because another writer got there first.
    pub async fn begin_write(
        conn: &DatabaseConnection,
        school_id: SchoolId,
    ) -> Result<Self, DbErr> {
        let (tx, turn) = crate::writer::begin_write(conn).await?.into_parts();
        Self::scope(tx, school_id, true, Some(turn)).await
    }

    /// A transaction for `school_id` inside `outer`, a transaction begun with
    /// [`crate::writer::begin_write`] (a savepoint: it commits with the outer one).
    pub async fn nested(outer: &DatabaseTransaction, school_id: SchoolId) -> Result<Self, DbErr> {
        Self::scope(outer.begin().await?, school_id, true, None).await
    }

    async fn scope(
        tx: DatabaseTransaction,
        school_id: SchoolId,
        writes: bool,
        turn: Option<crate::writer::WriteTurn>,
    ) -> Result<Self, DbErr> {
        if tx.get_database_backend() == DbBackend::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.school_id', $1, true)",
                [school_id.to_string().into()],
            ))
            .await?;
        }
        Ok(Self::bound(tx, school_id, writes, turn))
    }

    fn bound(
        tx: DatabaseTransaction,
        school_id: SchoolId,
        writes: bool,
        turn: Option<crate::writer::WriteTurn>,
    ) -> Self {
        Self {
            tx,
            school_id,
            changed: AtomicBool::new(false),
            writes,
            wrote: AtomicBool::new(false),
            committed: None,
            _turn: turn,
        }
    }

    /// The expression that binds a PostgreSQL transaction to the school whose id `school` yields
    /// (`set_config('app.school_id', school::text, true)`), for a statement that reads the
    /// platform tables at the start of a transaction and names its school at the same time (see
    /// [`TenantTx::adopt`]). A `NULL` school sets an empty value, which binds to no school.
    pub fn binding_expression(school: Expr) -> Expr {
        Expr::cust_with_exprs(
            "set_config('app.school_id', $1, true)",
            [school.cast_as(sea_orm::sea_query::Alias::new("text"))],
        )
    }

    /// A read transaction on PostgreSQL whose first statement selected
    /// [`TenantTx::binding_expression`] for `school_id` and returned a row: the binding a
    /// [`TenantTx::begin`] makes with a statement of its own came with that one. Every
    /// statement of the result still carries `school_id = $school`, so a transaction bound to
    /// another school (or to none) answers nothing rather than another school's rows.
    pub fn adopt(tx: DatabaseTransaction, school_id: SchoolId) -> Self {
        Self::bound(tx, school_id, false, None)
    }

    /// Sets `flag` when this transaction has committed, so whoever answers for the write can
    /// tell a saved change from a failed one even if something fails afterwards.
    pub fn report_commit_to(&mut self, flag: std::sync::Arc<AtomicBool>) {
        self.committed = Some(flag);
    }

    /// Plans every statement of this transaction for its actual parameters (PostgreSQL; nothing
    /// on SQLite). Aggregates over a whole school are run once per data version, so planning is
    /// cheap next to them, while the generic plan PostgreSQL switches a prepared statement to
    /// after five runs can cost tens of milliseconds over a million rows.
    pub async fn plan_for_parameters(&self) -> Result<(), DbErr> {
        if self.backend() == DbBackend::Postgres {
            self.tx
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)",
                ))
                .await?;
        }
        Ok(())
    }

    /// The school's data version as this transaction sees it.
    pub async fn data_version(&self) -> Result<i64, DbErr> {
        Ok(school_data_version::Entity::find_by_id(self.school_id)
            .one(&self.tx)
            .await?
            .map_or(0, |row| row.data_version))
    }

    /// The school this transaction is bound to.
    pub fn school_id(&self) -> SchoolId {
        self.school_id
    }

    /// The database backend.
    pub fn backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    /// Commits. A transaction begun to read that wrote nothing has nothing to commit: on
    /// PostgreSQL it ends without waiting, its `ROLLBACK` sent with the check the pool makes of
    /// every connection it takes back.
    pub async fn commit(self) -> Result<(), DbErr> {
        if !self.writes
            && !self.wrote.load(Ordering::SeqCst)
            && self.backend() == DbBackend::Postgres
            && self.committed.is_none()
        {
            return Ok(());
        }
        if self.changed.load(Ordering::SeqCst) {
            // Caches of derived data (analytics) key on this version: a write to one school
            // never serves stale numbers and never touches another school's cache.
            // The first change of a school creates its row.
            school_data_version::Entity::insert(school_data_version::ActiveModel {
                school_id: sea_orm::ActiveValue::Set(self.school_id),
                data_version: sea_orm::ActiveValue::Set(1),
            })
            .on_conflict(
                OnConflict::column(school_data_version::Column::SchoolId)
                    .value(
                        school_data_version::Column::DataVersion,
                        Expr::col((
                            school_data_version::Entity,
                            school_data_version::Column::DataVersion,
                        ))
                        .add(1),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&self.tx)
            .await?;
        }
        self.tx.commit().await?;
        if let Some(flag) = &self.committed {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn note_write<E: EntityTrait>(&self) {
        debug_assert!(
            self.writes || self.backend() != DbBackend::Sqlite,
            "a write to {} in a transaction begun to read: use TenantTx::begin_write",
            E::default().table_name()
        );
        self.wrote.store(true, Ordering::SeqCst);
        if !BOOKKEEPING.contains(&E::default().table_name()) {
            self.changed.store(true, Ordering::SeqCst);
        }
    }

    /// Rolls back (dropping the transaction does the same).
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }

    /// A select of `E` already restricted to this school.
    pub fn find<E: TenantScoped>(&self) -> TenantSelect<E> {
        TenantSelect(E::find().filter(E::school_column().eq(self.school_id)))
    }

    /// The rows `select` matches.
    pub async fn all<E: TenantScoped>(
        &self,
        select: TenantSelect<E>,
    ) -> Result<Vec<E::Model>, DbErr> {
        select.0.all(&self.tx).await
    }

    /// The first row `select` matches.
    pub async fn one<E: TenantScoped>(
        &self,
        select: TenantSelect<E>,
    ) -> Result<Option<E::Model>, DbErr> {
        select.0.one(&self.tx).await
    }

    /// How many rows `select` matches.
    pub async fn count<E: TenantScoped>(&self, select: TenantSelect<E>) -> Result<u64, DbErr>
    where
        E::Model: Sync,
    {
        select.0.count(&self.tx).await
    }

    /// Aggregate rows of `select` (still restricted to this school): the values of `columns`
    /// (expressions with their aliases), grouped by `group_by`, decoded as tuples `T`.
    pub async fn aggregate<E, T>(
        &self,
        select: TenantSelect<E>,
        columns: Vec<(sea_orm::sea_query::SimpleExpr, &'static str)>,
        group_by: Vec<sea_orm::sea_query::SimpleExpr>,
    ) -> Result<Vec<T>, DbErr>
    where
        E: TenantScoped,
        T: sea_orm::TryGetableMany,
    {
        let mut query = select.0.select_only();
        for (expr, alias) in columns {
            query = query.column_as(expr, alias);
        }
        for column in group_by {
            query = query.group_by(column);
        }
        query.into_tuple::<T>().all(&self.tx).await
    }

    /// Reads the rows of `select` (still restricted to this school) with only `columns`, in
    /// that order, one at a time as they arrive: `each` decodes a row with
    /// `QueryResult::try_get_by_index`. For big lists that need a few of a table's columns,
    /// without holding every row at once.
    pub async fn each_row<E: TenantScoped>(
        &self,
        select: TenantSelect<E>,
        columns: &[E::Column],
        mut each: impl FnMut(&sea_orm::QueryResult) -> Result<(), DbErr>,
    ) -> Result<(), DbErr> {
        use futures_util::TryStreamExt;
        use sea_orm::StreamTrait;
        let statement = select
            .0
            .select_only()
            .columns(columns.iter().copied())
            .build(self.backend());
        let mut rows = self.tx.stream_raw(statement).await?;
        while let Some(row) = rows.try_next().await? {
            each(&row)?;
        }
        Ok(())
    }

    /// The row of this school with `id` (`None` for a missing id and for another school's id).
    pub async fn get<E: TenantScoped>(&self, id: E::Id) -> Result<Option<E::Model>, DbErr> {
        self.one(self.find::<E>().filter(E::id_column().eq(id)))
            .await
    }

    /// Inserts `model` into this school: `school_id` is set here, whatever the caller put there.
    pub async fn insert<A>(&self, mut model: A) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantScoped,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        model.set(A::Entity::school_column(), self.school_id.into());
        self.note_write::<A::Entity>();
        model.insert(&self.tx).await
    }

    /// Inserts many rows into this school in one statement (callers keep batches within the
    /// backend's bind-parameter limit); `school_id` is set here on every row. Returns the count.
    pub async fn insert_many<A>(&self, models: Vec<A>) -> Result<u64, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantScoped,
    {
        if models.is_empty() {
            return Ok(0);
        }
        self.note_write::<A::Entity>();
        let school = self.school_id;
        let models = models.into_iter().map(|mut model| {
            model.set(A::Entity::school_column(), school.into());
            model
        });
        A::Entity::insert_many(models)
            .exec_without_returning(&self.tx)
            .await
    }

    /// Updates the row of this school with `model`'s id. `school_id` cannot be changed: it is
    /// forced to this school, and a row of another school is [`TenantError::NotFound`].
    pub async fn update<A>(
        &self,
        mut model: A,
    ) -> Result<<A::Entity as EntityTrait>::Model, TenantError>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantScoped,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        model.set(A::Entity::school_column(), self.school_id.into());
        self.note_write::<A::Entity>();
        match model.update(&self.tx).await {
            Ok(updated) => Ok(updated),
            Err(DbErr::RecordNotUpdated) | Err(DbErr::RecordNotFound(_)) => {
                Err(TenantError::NotFound)
            }
            Err(e) => Err(TenantError::Db(e)),
        }
    }

    /// Deletes the row of this school with `id`.
    pub async fn delete<E: TenantScoped>(&self, id: E::Id) -> Result<(), TenantError> {
        self.note_write::<E>();
        let result = E::delete_many()
            .filter(E::school_column().eq(self.school_id))
            .filter(E::id_column().eq(id))
            .exec(&self.tx)
            .await?;
        if result.rows_affected == 0 {
            Err(TenantError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Sets `values` on every row of `E` in this school that matches `condition`; returns how
    /// many rows changed. `school_id` cannot be among the columns set.
    pub async fn update_where<E: TenantScoped>(
        &self,
        values: Vec<(E::Column, sea_orm::sea_query::Expr)>,
        condition: impl IntoCondition,
    ) -> Result<u64, DbErr> {
        self.note_write::<E>();
        let school = E::school_column();
        let mut update = E::update_many()
            .filter(school.eq(self.school_id))
            .filter(condition);
        for (column, value) in values {
            if sea_orm::IdenStatic::as_str(&column) == sea_orm::IdenStatic::as_str(&school) {
                return Err(DbErr::Custom("school_id cannot be changed".into()));
            }
            update = update.col_expr(column, value);
        }
        Ok(update.exec(&self.tx).await?.rows_affected)
    }

    /// Deletes every row of `E` in this school that matches `condition`; returns how many.
    pub async fn delete_where<E: TenantScoped>(
        &self,
        condition: impl IntoCondition,
    ) -> Result<u64, DbErr> {
        self.note_write::<E>();
        let result = E::delete_many()
            .filter(E::school_column().eq(self.school_id))
            .filter(condition)
            .exec(&self.tx)
            .await?;
        Ok(result.rows_affected)
    }
}

/// A select already restricted to one school. It can be narrowed, ordered and paged, never
/// widened; only the [`TenantTx`] that made it runs it.
#[derive(Debug, Clone)]
pub struct TenantSelect<E: EntityTrait>(Select<E>);

impl<E: TenantScoped> TenantSelect<E> {
    /// Adds a condition (AND).
    pub fn filter(self, condition: impl IntoCondition) -> Self {
        Self(self.0.filter(condition))
    }

    /// Orders by `column`.
    pub fn order_by(self, column: E::Column, order: Order) -> Self {
        Self(self.0.order_by(column, order))
    }

    /// At most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        Self(self.0.limit(n))
    }

    /// Skips `n` rows.
    pub fn offset(self, n: u64) -> Self {
        Self(self.0.offset(n))
    }
}
