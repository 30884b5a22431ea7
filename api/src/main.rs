//! The `api` binary: loads `.env` and the configuration once, then runs the command line.

use clap::Parser;

/// GraphQL answers are trees of many small allocations; mimalloc serves them markedly faster
/// than the system allocator (see the nested benchmark in the README).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A missing .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: cannot read .env: {e}");
    }
    let cli = api::cli::Cli::parse();
    let config = match api::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    api::telemetry::init(config.log_format, &config.log_filter);
    match api::cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "fatal");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
