//! The `api` binary's command line: `serve` (the default), `migrate`, `schema`.

use std::io::Write;

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::{
    app::{Application, announce_bootstrap, shutdown_signal},
    config::{Config, redact_url},
    db,
    services::{bootstrap, demo},
};

/// The school data service.
#[derive(Debug, Parser)]
#[command(name = "api", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// What to do with migrations.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Load two demo schools with realistic data (about 600 students each) and print their
    /// logins. Schools that already exist are left alone.
    Demo {
        /// Students per school.
        #[arg(long, default_value_t = 600)]
        students: usize,
    },
    /// Apply pending migrations, then, if the database has no users, create the superadmin and
    /// first school (`BOOTSTRAP_*` settings; a generated password is printed once).
    Bootstrap,
}

/// `api migrate …`
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or `--steps N`).
    Up {
        /// How many to apply.
        #[arg(long)]
        steps: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or `--steps N`, or `--all`).
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: u32,
        /// Roll back every migration (drops every table).
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Runs the command line with `config`.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until(shutdown_signal()).await?;
        }
        Command::Bootstrap => {
            let owner = db::connect_for_migrations(&config.database_url).await?;
            Migrator::up(&owner, None).await?;
            owner.close().await?;
            let runtime = db::connect_runtime(&config).await?;
            match bootstrap::ensure(&runtime, &config).await? {
                Some(created) => announce_bootstrap(&created),
                None => writeln!(
                    std::io::stdout().lock(),
                    "the database already has users: nothing to do"
                )?,
            }
        }
        Command::Demo { students } => {
            let owner = db::connect_for_migrations(&config.database_url).await?;
            Migrator::up(&owner, None).await?;
            owner.close().await?;
            let runtime = db::connect_runtime(&config).await?;
            if let Some(created) = bootstrap::ensure(&runtime, &config).await? {
                announce_bootstrap(&created);
            }
            let mut out = std::io::stdout().lock();
            for (seed, (name, slug)) in [
                ("תיכון הרצל", "herzl-demo"),
                ("חטיבת ביניים רבין", "rabin-demo"),
            ]
            .into_iter()
            .enumerate()
            {
                let started = std::time::Instant::now();
                match demo::create_school(&runtime, name, slug, students, seed as u64 + 1).await? {
                    Some(school) => {
                        writeln!(
                            out,
                            "\n{name} ({}): {} rows in {:.1?}",
                            school.slug,
                            school.rows,
                            started.elapsed()
                        )?;
                        for (role, email, password) in &school.logins {
                            writeln!(out, "  {role:<8} {email:<28} {password}")?;
                        }
                    }
                    None => writeln!(out, "\n{name} ({slug}) already exists: left as it is")?,
                }
            }
            writeln!(
                out,
                "\nOpen /graphiql, run `mutation {{ login(email: \"admin@herzl-demo.demo\", password: \"…\") {{ token }} }}`,\n\
                 and put `Bearer <token>` in the Authorization header. These passwords are shown only once."
            )?;
        }
        Command::Schema => {
            let mut out = std::io::stdout().lock();
            out.write_all(crate::graphql::sdl().as_bytes())?;
        }
        Command::Migrate { action } => {
            let conn = db::connect_for_migrations(&config.database_url).await?;
            let mut out = std::io::stdout().lock();
            match action {
                MigrateAction::Up { steps } => {
                    Migrator::up(&conn, steps).await?;
                    writeln!(out, "migrated up: {}", redact_url(&config.database_url))?;
                }
                MigrateAction::Down { steps, all } => {
                    Migrator::down(&conn, if all { None } else { Some(steps) }).await?;
                    writeln!(out, "migrated down: {}", redact_url(&config.database_url))?;
                }
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status_read_only(&conn).await? {
                        writeln!(out, "{:<8} {}", m.status().to_string(), m.name())?;
                    }
                }
            }
        }
    }
    Ok(())
}
