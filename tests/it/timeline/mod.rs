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
//! `TIMELINE_SEEDS=10000 cargo test --test it timeline -- --nocapture`.

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

/// Runs a timeline on its own paused runtime: `Err` with the step it broke at and why.
fn run_timeline(timeline: &plan::Timeline) -> Result<(), (usize, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async { run::Driver::new(timeline.clone()).await.run().await })
}

/// Runs one seed; on failure, the timeline and where it broke.
fn run_seed(seed: u64) -> Result<(), String> {
    let timeline = plan::generate(seed);
    run_timeline(&timeline).map_err(|(step, failure)| {
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

/// Runs a timeline written by hand (each names a defect of issue 18 that it caught), in every
/// events paging order.
fn case(name: &str, steps: Vec<plan::Step>) {
    case_in(name, &["newest_first", "oldest_first", "shuffled"], false, steps);
}

fn case_in(name: &str, orders: &[&'static str], with_sqs: bool, steps: Vec<plan::Step>) {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    for (i, order) in orders.iter().enumerate() {
        let timeline = plan::Timeline {
            seed: 1_000_000 + i as u64,
            events_order: order,
            with_sqs,
            steps: steps.clone(),
        };
        if let Err((step, failure)) = run_timeline(&timeline) {
            panic!("{name}:\n{timeline}broke at step {step}: {failure}");
        }
    }
}

fn minutes(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(60 * n)
}

#[test]
fn two_interruptions_seven_minutes_apart_during_an_outage_are_both_counted() {
    use plan::Step::*;
    case(
        "outage",
        vec![
            Run(minutes(3)),
            Settle,
            Stop { keep_state: true },
            Run(minutes(1)),
            Interrupt {
                fleet: 1,
                location: 0,
                instances: 1,
            },
            Run(minutes(7)),
            Interrupt {
                fleet: 1,
                location: 0,
                instances: 1,
            },
            Run(std::time::Duration::from_secs(10)),
            Start,
            Run(minutes(2)),
            Settle,
        ],
    );
}

#[test]
fn a_fleet_let_in_by_a_reload_counts_nothing_from_before() {
    use plan::Step::*;
    case(
        "excluded then included",
        vec![
            Run(minutes(2)),
            Exclude(1),
            Run(minutes(1)),
            Interrupt {
                fleet: 1,
                location: 0,
                instances: 2,
            },
            Crash {
                fleet: 1,
                count: Some(3),
            },
            Run(minutes(2)),
            Include(1),
            Run(minutes(3)),
            Settle,
            // And a Region that comes back, likewise.
            RegionOut,
            Run(minutes(1)),
            Interrupt {
                fleet: 3,
                location: 0,
                instances: 1,
            },
            Run(minutes(1)),
            RegionIn,
            Run(minutes(2)),
            Settle,
        ],
    );
}

#[test]
fn a_reload_of_the_aws_settings_keeps_every_tracker() {
    use plan::Step::*;
    case(
        "reloads while passes wait for their budgets",
        vec![
            Stretch(true),
            Run(minutes(10)),
            Settle,
            Run(minutes(3)),
            Stretch(false),
            Run(std::time::Duration::from_secs(30)),
            Stretch(true),
            Run(minutes(5)),
            Interrupt {
                fleet: 0,
                location: 1,
                instances: 1,
            },
            Run(minutes(2)),
            Settle,
        ],
    );
}

#[test]
fn a_message_whose_delete_keeps_failing_is_never_counted_twice() {
    use plan::Step::*;
    // Every delete fails for seven hours, past the six-hour dedup window: the ids of undeleted
    // messages are remembered until their delete succeeds, so the redeliveries count as
    // duplicates the whole time; a restart in the middle keeps them.
    case_in(
        "failing deletes",
        &["newest_first"],
        true,
        vec![
            Run(minutes(2)),
            Faults(plan::Fault::AllDeletesFail),
            Placements { fresh: 20, again: 2 },
            Run(minutes(200)),
            Restart {
                keep_state: true,
                down: minutes(5),
            },
            Run(minutes(220)),
            ClearFaults,
            Run(minutes(5)),
            Settle,
        ],
    );
}
