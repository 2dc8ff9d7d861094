//! The `todo-graphql` binary: parse settings, start logging, run the subcommand.

use clap::Parser;
use todo_graphql::{
    app,
    config::{Cli, Command, LogFormat},
    sdl,
};
use tracing_subscriber::EnvFilter;

// Each argon2 hash takes 19 MiB; glibc's allocator keeps such blocks in per-thread arenas
// after they are freed (hundreds of MiB after a login storm), mimalloc gives them back.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    todo_graphql::memory::disable_huge_pages();
    // A missing .env is normal; the environment and flags still apply.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_tracing(cli.settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let server = app::spawn(cli.settings).await?;
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            server.shutdown().await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            app::migrate(&cli.settings).await?;
            tracing::info!("migrations applied");
        }
        Command::PrintSchema => print!("{}", sdl()),
    }
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
