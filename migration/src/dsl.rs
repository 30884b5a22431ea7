//! A small vocabulary for declaring tables so that the tenant rules are the default shape:
//! [`Table::tenant`] adds `school_id`, `id`, timestamps and the `(school_id, id)` key;
//! [`Table::refers`] adds a composite foreign key; [`Table::unique`] and [`Table::index`]
//! prefix `school_id` on tenant tables.

use sea_orm_migration::prelude::*;

/// What happens to a referencing row when the referenced row is deleted.
#[derive(Debug, Clone, Copy)]
pub enum OnDelete {
    /// The referencing row is part of the referenced one (a student's grades): delete it too.
    Cascade,
    /// The reference must be cleared by the application first.
    Restrict,
}

impl From<OnDelete> for ForeignKeyAction {
    fn from(value: OnDelete) -> Self {
        match value {
            OnDelete::Cascade => ForeignKeyAction::Cascade,
            OnDelete::Restrict => ForeignKeyAction::Restrict,
        }
    }
}

/// A table being declared, with the indexes to create after it.
#[derive(Debug)]
pub struct Table {
    name: &'static str,
    tenant: bool,
    create: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl Table {
    /// A tenant-owned table: `school_id`, `id`, `created_at`, `updated_at`,
    /// `PRIMARY KEY (school_id, id)` and `school_id REFERENCES schools (id)`.
    pub fn tenant(name: &'static str) -> Self {
        let mut create = sea_orm_migration::prelude::Table::create();
        create
            .table(name)
            .col(uuid("school_id"))
            .col(uuid("id"))
            .col(timestamp("created_at"))
            .col(timestamp("updated_at"))
            .primary_key(Index::create().col("school_id").col("id"))
            .foreign_key(
                ForeignKey::create()
                    .name(format!("fk_{name}_school"))
                    .from_col("school_id")
                    .to_tbl("schools")
                    .to_col("id")
                    .on_delete(ForeignKeyAction::Cascade),
            );
        Self {
            name,
            tenant: true,
            create,
            indexes: Vec::new(),
        }
    }

    /// A platform table keyed by its own `id` alone.
    pub fn platform(name: &'static str) -> Self {
        let mut create = sea_orm_migration::prelude::Table::create();
        create
            .table(name)
            .col(uuid("id").primary_key())
            .col(timestamp("created_at"));
        Self {
            name,
            tenant: false,
            create,
            indexes: Vec::new(),
        }
    }

    /// A platform table with a primary key of its own choosing.
    pub fn platform_keyed(name: &'static str, key: &[&'static str]) -> Self {
        let mut create = sea_orm_migration::prelude::Table::create();
        let mut pk = Index::create();
        for col in key {
            pk.col(*col);
        }
        create.table(name).primary_key(&mut pk);
        Self {
            name,
            tenant: false,
            create,
            indexes: Vec::new(),
        }
    }

    /// Adds a column.
    pub fn col(mut self, column: impl IntoColumnDef) -> Self {
        self.create.col(column);
        self
    }

    /// Adds the OneRoster sync columns: `external_id` (the `sourcedId`, unique per school) and
    /// `status` (`ACTIVE | TO_BE_DELETED`).
    pub fn synced(self) -> Self {
        self.col(text_null("external_id"))
            .col(one_of("status", &["ACTIVE", "TO_BE_DELETED"]).default("ACTIVE"))
            .unique(&["external_id"])
    }

    /// Adds `column` referring to the tenant table `target`, as the composite foreign key
    /// `(school_id, column) REFERENCES target (school_id, id)`. A `NULL` column is not checked.
    pub fn refers(
        mut self,
        column: &'static str,
        target: &'static str,
        nullable: bool,
        on_delete: OnDelete,
    ) -> Self {
        debug_assert!(self.tenant || self.name == "memberships");
        let mut def = uuid(column);
        if nullable {
            def = uuid_null(column);
        }
        self.create.col(&mut def);
        self.create.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{}", self.name, column))
                .from_col("school_id")
                .from_col(column)
                .to_tbl(target)
                .to_col("school_id")
                .to_col("id")
                .on_delete(on_delete.into()),
        );
        self
    }

    /// Adds `column` referring to the platform table `target` (`users`, `schools`).
    pub fn refers_platform(
        mut self,
        column: &'static str,
        target: &'static str,
        nullable: bool,
        on_delete: OnDelete,
    ) -> Self {
        let mut def = if nullable {
            uuid_null(column)
        } else {
            uuid(column)
        };
        self.create.col(&mut def);
        let action = match (nullable, on_delete) {
            (true, OnDelete::Restrict) => ForeignKeyAction::SetNull,
            (_, other) => other.into(),
        };
        self.create.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{}", self.name, column))
                .from_col(column)
                .to_tbl(target)
                .to_col("id")
                .on_delete(action),
        );
        self
    }

    /// A unique index; on a tenant table it starts with `school_id`.
    pub fn unique(self, columns: &[&'static str]) -> Self {
        self.add_index("uq", columns, true)
    }

    /// A secondary index; on a tenant table it starts with `school_id`.
    pub fn index(self, columns: &[&'static str]) -> Self {
        self.add_index("ix", columns, false)
    }

    fn add_index(mut self, prefix: &str, columns: &[&'static str], unique: bool) -> Self {
        let mut index = Index::create();
        let suffix = if columns.is_empty() {
            "school_id".to_owned()
        } else {
            columns.join("_")
        };
        index
            .name(format!("{prefix}_{}_{suffix}", self.name))
            .table(self.name);
        if self.tenant {
            index.col("school_id");
        }
        for col in columns {
            index.col(*col);
        }
        if unique {
            index.unique();
        }
        self.indexes.push(index);
        self
    }

    /// Creates the table and then its indexes.
    pub async fn create(mut self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager.create_table(self.create.to_owned()).await?;
        for index in self.indexes.iter_mut() {
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}

/// Drops the given tables in the order given (children first).
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(
                sea_orm_migration::prelude::Table::drop()
                    .table(*table)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

pub fn uuid(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}

pub fn uuid_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().null().to_owned()
}

pub fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

pub fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}

/// A text column restricted to `values` by a CHECK constraint.
pub fn one_of(name: &'static str, values: &[&'static str]) -> ColumnDef {
    ColumnDef::new(name)
        .text()
        .not_null()
        .check(Expr::col(name).is_in(values.iter().copied()))
        .to_owned()
}

/// A nullable text column restricted to `values` when set.
pub fn one_of_null(name: &'static str, values: &[&'static str]) -> ColumnDef {
    ColumnDef::new(name)
        .text()
        .null()
        .check(
            Expr::col(name)
                .is_null()
                .or(Expr::col(name).is_in(values.iter().copied())),
        )
        .to_owned()
}

pub fn int(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().to_owned()
}

pub fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().null().to_owned()
}

pub fn big_int(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

pub fn double(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).double().not_null().to_owned()
}

pub fn double_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).double().null().to_owned()
}

pub fn boolean(name: &'static str, default: bool) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(default)
        .to_owned()
}

pub fn date(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).date().not_null().to_owned()
}

pub fn date_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).date().null().to_owned()
}

pub fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .default(Expr::current_timestamp())
        .to_owned()
}

pub fn timestamp_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

pub fn json(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().to_owned()
}

pub fn json_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().null().to_owned()
}
