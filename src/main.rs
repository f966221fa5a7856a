//! `gamelift-exporter`: parses arguments, validates the config, and hands over to the library.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use clap::Parser;
use gamelift_exporter::cli::{Args, Command, LogFormat};
use gamelift_exporter::config::{Config, DemoTarget, Overrides};
use gamelift_exporter::exporter::{Exporter, Options};
use gamelift_exporter::simulator::{self, Clock, Scenario, Simulator};
use std::process::ExitCode;
use tokio::net::TcpListener;

/// Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or arguments.
const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = init_logging(&args) {
        eprintln!("gamelift-exporter: {message}");
        return ExitCode::from(EXIT_CONFIG);
    }
    // File, then command line, then --demo: one merge, re-applied by every reload.
    let overrides = Overrides {
        web_config_file: args.web_config_file.clone(),
        state_path: args.state_path.clone(),
        demo: args.demo.then(|| DemoTarget {
            regions: gamelift_exporter::demo::regions(),
            endpoint_url: None,
            events_queue_url: None,
        }),
    };
    let config = match Config::layered(args.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("gamelift-exporter: invalid config: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(file) = &config.server.web_config_file {
        if let Err(error) = gamelift_exporter::web::WebConfig::load(file) {
            eprintln!("gamelift-exporter: invalid web config: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    if args.check_config {
        print!("{}", config.to_toml());
        print!("\n{}", gamelift_exporter::quota::formula(&config));
        if args.demo {
            println!("# (--demo: the simulated fleets exist only while the exporter runs)");
        } else {
            // The figures for the fleets it can see, if it can reach them (bounded in time).
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => print!(
                    "{}",
                    runtime.block_on(gamelift_exporter::quota::reached(&config, None))
                ),
                Err(error) => println!("# (cannot start the async runtime: {error})"),
            }
        }
        for warning in config.warnings() {
            eprintln!("warning: {warning}");
        }
        return ExitCode::SUCCESS;
    }
    // One thread: the exporter waits on the network most of the time, and the benchmark shows a
    // current-thread runtime spends 20-30% less CPU per sweep than a multi-threaded one.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gamelift-exporter: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = match args.command {
        Some(Command::Simulate {
            scenario,
            listen,
            speed,
        }) => runtime.block_on(simulate(&scenario, listen, speed)),
        None => runtime.block_on(run(config, overrides)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gamelift-exporter: {error:#}");
            let is_config = error.chain().any(|e| {
                e.downcast_ref::<gamelift_exporter::tomlfile::FileError>()
                    .is_some()
            });
            ExitCode::from(if is_config { EXIT_CONFIG } else { EXIT_RUNTIME })
        }
    }
}

fn init_logging(args: &Args) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| format!("invalid --log.level {:?}: {e}", args.log_level))?;
    // Colour only for a person at a terminal: a file or the journal gets plain text, and
    // NO_COLOR (https://no-color.org) is honoured.
    let colour =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.with_ansi(colour).init(),
        // One flat object per line: ts, level, msg, target, the event's fields (no colour).
        LogFormat::Json => builder
            .with_ansi(false)
            .event_format(gamelift_exporter::logging::FlatJson)
            .init(),
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler works on Unix");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}

/// Reloads the config file on every SIGHUP; a bad file is logged and the running config kept.
async fn reload_on_hangup(exporter: std::sync::Arc<Exporter>) {
    #[cfg(unix)]
    {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot install a SIGHUP handler; reload with POST /-/reload");
            return;
        };
        while hangup.recv().await.is_some() {
            if let Err(error) = exporter.reload_from_file().await {
                tracing::error!(%error, "reload failed; keeping the running configuration");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = exporter;
}

async fn run(mut config: Config, mut overrides: Overrides) -> anyhow::Result<()> {
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let mut options = Options::default();
    let _simulator = if overrides.demo.is_some() {
        let (simulator, target) = gamelift_exporter::demo::start().await?;
        tracing::warn!(
            simulator = %simulator.url,
            "DEMO MODE: all GameLift data is SIMULATED by the built-in simulator; no AWS account is used"
        );
        overrides.demo = Some(target);
        config = overrides.apply(config);
        options.connection.credentials = Some(gamelift_exporter::aws::simulator_credentials());
        Some(simulator)
    } else {
        None
    };
    options.overrides = overrides;
    let listener = std::net::TcpListener::bind(config.server.listen)
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    listener.set_nonblocking(true)?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics");
    let exporter = Exporter::new(config, options).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = serve_on_own_thread(listener, exporter.clone(), stopped.clone())?;
    let schedule = tokio::spawn(exporter.clone().run_schedule(stopped));
    let reloader = tokio::spawn(reload_on_hangup(exporter));
    shutdown_signal().await;
    let _ = stop.send(true);
    reloader.abort();
    let _ = schedule.await;
    let _ = server.join();
    Ok(())
}

/// Serves HTTP on a thread and runtime of its own: a pass decoding a page of sessions keeps the
/// main thread busy for about a millisecond, and a scrape must never wait for that.
fn serve_on_own_thread(
    listener: std::net::TcpListener,
    exporter: std::sync::Arc<Exporter>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    let thread = std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::error!(%error, "cannot serve HTTP");
                        return;
                    }
                };
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                gamelift_exporter::http::serve(listener, exporter, shutdown).await;
            });
        })
        .context("cannot start the HTTP thread")?;
    Ok(thread)
}

async fn simulate(path: &std::path::Path, listen: std::net::SocketAddr, speed: f64) -> anyhow::Result<()> {
    let scenario = Scenario::load(path)?;
    let clock = if speed > 0.0 {
        Clock::Wall { speed }
    } else {
        Clock::Manual
    };
    let simulator = Simulator::new(&scenario, clock);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    // Scripts read this line to find the port when --listen uses port 0.
    println!("simulator listening on http://{address}");
    tracing::info!(fleets = scenario.fleets.len(), %address, "GameLift simulator serving");
    simulator::serve(simulator, listener, shutdown_signal()).await;
    Ok(())
}
