//! The seeded timeline simulation: a generator, driven by a seed, writes a timeline (restarts
//! with and without the state file after downtimes of up to three hours, reloads that add and
//! remove fleets and Regions, fleets created and deleted, single interruptions, bursts of 50
//! and two-minute notices, crashes, throttling, 500s, a missing IAM action, stretched intervals,
//! SQS duplicates and failing deletes) and runs the exporter through it in-process, on a paused
//! clock: hours of a world in a fraction of a second. After every step the invariants are
//! checked against the simulator's ground truth (see [`run`]):
//!
//! - every counter equals what happened while its fleet was watched, its downtime with a state
//!   file included, nothing before the watch (at each settle: exact);
//! - counters never go down within a process, and every series first appears at 0;
//! - gauges are exact two live passes after the world stops changing;
//! - no budget is exceeded in any one-second window of the request log.
//!
//! `cargo test --test it timeline` runs 200 seeds. One seed, with its timeline printed:
//! `TIMELINE_SEED=42 cargo test --test it timeline -- --nocapture`. A longer run:
//! `TIMELINE_SEEDS=10000 cargo test --release --test it timeline -- --nocapture`.

mod plan;
mod run;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number"))
    })
}

/// Runs one seed on its own paused runtime; on failure, the timeline and where it broke.
fn run_seed(seed: u64) -> Result<(), String> {
    let timeline = plan::generate(seed);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let driver = run::Driver::new(timeline.clone()).await;
        driver.run().await
    });
    result.map_err(|(step, failure)| {
        format!(
            "{timeline}broke at step {step} ({}): {failure}\nreplay: TIMELINE_SEED={seed} cargo test --test it timeline -- --nocapture",
            timeline.steps.get(step).map_or("the final stop".to_string(), |s| s.to_string())
        )
    })
}

#[test]
fn seeded_timelines_keep_every_invariant() {
    if let Some(seed) = env_u64("TIMELINE_SEED") {
        // A replay shows the exporter's log too (RUST_LOG narrows or widens it).
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "gamelift_exporter=info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
        println!("{}", plan::generate(seed));
        if let Err(failure) = run_seed(seed) {
            panic!("{failure}");
        }
        println!("seed {seed}: every invariant held");
        return;
    }
    let count = env_u64("TIMELINE_SEEDS").unwrap_or(200);
    let first = env_u64("TIMELINE_FIRST").unwrap_or(1);
    let started = Instant::now();
    // Seeds are independent: one thread per core takes the next one until all are run or one
    // fails (the lowest failing seed is reported).
    let next = AtomicU64::new(first);
    let failures: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if !failures.lock().unwrap().is_empty() {
                    return;
                }
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= first + count {
                    return;
                }
                if let Err(failure) = run_seed(seed) {
                    failures.lock().unwrap().push((seed, failure));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    if let Some((_, failure)) = failures.first() {
        panic!("{failure}");
    }
    println!(
        "timeline simulation: {count} seeds from {first} passed in {:.1} s on {threads} threads",
        started.elapsed().as_secs_f64()
    );
}
