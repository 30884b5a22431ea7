//! Reads the schema back from the database's own catalog (`pg_catalog` / `information_schema`
//! on PostgreSQL, `pragma_*` on SQLite) and checks the tenant rules of DESIGN §2 on it, so the
//! rules are tested against what the database enforces, not against what the migrations meant.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement};

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Declared `NOT NULL` (or part of the primary key on SQLite, where that implies it).
    pub not_null: bool,
    /// Has a default value.
    pub has_default: bool,
}

/// One foreign key: `(from…) REFERENCES target (to…)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referenced table.
    pub target: String,
    /// Column pairs, in key order: (this table's column, the target's column).
    pub pairs: Vec<(String, String)>,
}

/// One index other than the primary key (unique constraints included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDef {
    /// Its name.
    pub name: String,
    /// Whether it is unique.
    pub unique: bool,
    /// Its columns in order (`<expr>` for an expression).
    pub columns: Vec<String>,
}

/// One table as the database describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
    /// Primary key columns in key order.
    pub primary_key: Vec<String>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes other than the primary key, sorted by name.
    pub indexes: Vec<IndexDef>,
}

/// Every table of the database, by name (the migrations' own bookkeeping table excluded).
pub type Catalog = BTreeMap<String, Table>;

fn text(row: &QueryResult, col: &str) -> String {
    row.try_get::<String>("", col)
        .unwrap_or_else(|e| panic!("catalog column {col}: {e}"))
}

fn int(row: &QueryResult, col: &str) -> i64 {
    row.try_get::<i64>("", col)
        .unwrap_or_else(|e| panic!("catalog column {col}: {e}"))
}

async fn rows(conn: &DatabaseConnection, sql: &str, table: Option<&str>) -> Vec<QueryResult> {
    let backend = conn.get_database_backend();
    let stmt = match table {
        Some(t) => Statement::from_sql_and_values(backend, sql, [t.into()]),
        None => Statement::from_string(backend, sql.to_owned()),
    };
    conn.query_all_raw(stmt)
        .await
        .unwrap_or_else(|e| panic!("catalog query failed: {e}\n{sql}"))
}

/// Reads the catalog of the database behind `conn`.
pub async fn read(conn: &DatabaseConnection) -> Catalog {
    match conn.get_database_backend() {
        DbBackend::Postgres => read_postgres(conn).await,
        DbBackend::Sqlite => read_sqlite(conn).await,
        other => panic!("unsupported backend {other:?}"),
    }
}

async fn read_sqlite(conn: &DatabaseConnection) -> Catalog {
    let mut catalog = Catalog::new();
    let names = rows(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name",
        None,
    )
    .await;
    for row in names {
        let name = text(&row, "name");
        let mut table = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for col in rows(conn, "SELECT name, \"notnull\" AS nn, pk, dflt_value IS NOT NULL AS has_default FROM pragma_table_info(?)", Some(&name)).await {
            let col_name = text(&col, "name");
            let pk_pos = int(&col, "pk");
            if pk_pos > 0 {
                pk.push((pk_pos, col_name.clone()));
            }
            table.columns.insert(col_name, Column { not_null: int(&col, "nn") == 1, has_default: int(&col, "has_default") == 1 });
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();

        let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for fk in rows(conn, "SELECT id, seq, \"table\" AS target, \"from\" AS from_col, \"to\" AS to_col FROM pragma_foreign_key_list(?) ORDER BY id, seq", Some(&name)).await {
            let entry = fks.entry(int(&fk, "id")).or_insert_with(|| ForeignKey { target: text(&fk, "target"), pairs: Vec::new() });
            // A foreign key with no target columns refers to the target's primary key.
            let to = fk.try_get::<Option<String>>("", "to_col").ok().flatten().unwrap_or_default();
            entry.pairs.push((text(&fk, "from_col"), to));
        }
        table.foreign_keys = fks.into_values().collect();

        for ix in rows(
            conn,
            "SELECT name, \"unique\" AS is_unique, origin FROM pragma_index_list(?) ORDER BY name",
            Some(&name),
        )
        .await
        {
            if text(&ix, "origin") == "pk" {
                continue;
            }
            let ix_name = text(&ix, "name");
            let columns = rows(
                conn,
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                Some(&ix_name),
            )
            .await
            .iter()
            .map(|c| {
                c.try_get::<Option<String>>("", "name")
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "<expr>".to_owned())
            })
            .collect();
            table.indexes.push(IndexDef {
                name: ix_name,
                unique: int(&ix, "is_unique") == 1,
                columns,
            });
        }
        catalog.insert(name, table);
    }
    catalog
}

async fn read_postgres(conn: &DatabaseConnection) -> Catalog {
    let mut catalog = Catalog::new();
    for row in rows(
        conn,
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'seaql_migrations'",
        None,
    )
    .await
    {
        catalog.insert(text(&row, "name"), Table::default());
    }
    for row in rows(
        conn,
        "SELECT table_name::text AS t, column_name::text AS c, (is_nullable = 'NO')::int::int8 AS nn, \
                (column_default IS NOT NULL)::int::int8 AS has_default \
         FROM information_schema.columns WHERE table_schema = 'public'",
        None,
    )
    .await
    {
        if let Some(table) = catalog.get_mut(&text(&row, "t")) {
            table.columns.insert(text(&row, "c"), Column { not_null: int(&row, "nn") == 1, has_default: int(&row, "has_default") == 1 });
        }
    }
    for row in rows(
        conn,
        "SELECT t.relname::text AS t, a.attname::text AS c \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = 'public' AND ix.indisprimary ORDER BY t.relname, k.ord",
        None,
    )
    .await
    {
        if let Some(table) = catalog.get_mut(&text(&row, "t")) {
            table.primary_key.push(text(&row, "c"));
        }
    }
    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in rows(
        conn,
        "SELECT src.relname::text AS t, c.conname::text AS name, tgt.relname::text AS target, \
                a1.attname::text AS from_col, a2.attname::text AS to_col \
         FROM pg_constraint c \
         JOIN pg_class src ON src.oid = c.conrelid \
         JOIN pg_class tgt ON tgt.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = src.relnamespace \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(from_num, to_num, ord) \
         JOIN pg_attribute a1 ON a1.attrelid = c.conrelid AND a1.attnum = k.from_num \
         JOIN pg_attribute a2 ON a2.attrelid = c.confrelid AND a2.attnum = k.to_num \
         WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY src.relname, c.conname, k.ord",
        None,
    )
    .await
    {
        let key = (text(&row, "t"), text(&row, "name"));
        let entry = fks.entry(key).or_insert_with(|| ForeignKey { target: text(&row, "target"), pairs: Vec::new() });
        entry.pairs.push((text(&row, "from_col"), text(&row, "to_col")));
    }
    for ((table, _), fk) in fks {
        if let Some(t) = catalog.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }
    let mut indexes: BTreeMap<(String, String), IndexDef> = BTreeMap::new();
    for row in rows(
        conn,
        "SELECT t.relname::text AS t, i.relname::text AS name, ix.indisunique::int::int8 AS is_unique, \
                COALESCE(a.attname::text, '<expr>') AS c \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 \
         WHERE n.nspname = 'public' AND NOT ix.indisprimary ORDER BY t.relname, i.relname, k.ord",
        None,
    )
    .await
    {
        let key = (text(&row, "t"), text(&row, "name"));
        let unique = int(&row, "is_unique") == 1;
        let entry = indexes.entry(key.clone()).or_insert_with(|| IndexDef { name: key.1.clone(), unique, columns: Vec::new() });
        entry.columns.push(text(&row, "c"));
    }
    for ((table, _), ix) in indexes {
        if let Some(t) = catalog.get_mut(&table) {
            t.indexes.push(ix);
        }
    }
    catalog
}

/// Checks DESIGN §2's tenant rules on `catalog`, where every table not in `platform` is
/// tenant-owned. Returns one line per broken rule (empty when all hold).
pub fn tenant_rule_violations(catalog: &Catalog, platform: &[&str]) -> Vec<String> {
    let is_tenant = |name: &str| !platform.contains(&name) && catalog.contains_key(name);
    let mut out = Vec::new();
    for (name, table) in catalog {
        // Any table, platform or not, that refers to a tenant table must carry the school.
        for fk in &table.foreign_keys {
            if is_tenant(&fk.target)
                && !fk
                    .pairs
                    .contains(&("school_id".to_owned(), "school_id".to_owned()))
            {
                out.push(format!(
                    "{name}: foreign key {:?} -> {} does not map school_id to school_id",
                    fk.pairs, fk.target
                ));
            }
        }
        if !is_tenant(name) {
            continue;
        }
        match table.columns.get("school_id") {
            Some(c) if c.not_null => {}
            Some(_) => out.push(format!("{name}: school_id is nullable")),
            None => out.push(format!("{name}: has no school_id column")),
        }
        match table.columns.get("id") {
            Some(c) if c.has_default => out.push(format!(
                "{name}: id has a database default (ids are made by the application)"
            )),
            Some(_) => {}
            None => out.push(format!("{name}: has no id column")),
        }
        if table.primary_key != ["school_id", "id"] {
            out.push(format!(
                "{name}: primary key is {:?}, not (school_id, id)",
                table.primary_key
            ));
        }
        let to_school = table.foreign_keys.iter().any(|fk| {
            fk.target == "schools" && fk.pairs == [("school_id".to_owned(), "id".to_owned())]
        });
        if !to_school {
            out.push(format!("{name}: school_id does not reference schools (id)"));
        }
        for ix in &table.indexes {
            if ix.columns.first().map(String::as_str) != Some("school_id") {
                let kind = if ix.unique { "unique index" } else { "index" };
                out.push(format!(
                    "{name}: {kind} {} on {:?} does not start with school_id",
                    ix.name, ix.columns
                ));
            }
        }
    }
    out
}
