//! What a seed becomes: the world, and a timeline of steps written up front (so that a failing
//! seed prints every step a person needs to read, and replays the same).

use std::fmt;
use std::time::Duration;

/// The simulator's seeded generator, with what a timeline draws.
pub struct Rng(gamelift_exporter::simulator::rng::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(gamelift_exporter::simulator::rng::Rng::new(seed, &[0x7131_11E5]))
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0.below(n.max(1))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.0.chance(p)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn minutes(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_secs(60 * (from + self.below(to - from + 1)))
    }
}

/// A fleet a timeline can touch.
#[derive(Debug, Clone, Copy)]
pub struct FleetPlan {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub region: &'static str,
    pub remote: &'static [&'static str],
    /// ACTIVE sessions per location at the start.
    pub active: u32,
}

const fn fleet(
    id: &'static str,
    name: &'static str,
    kind: &'static str,
    region: &'static str,
    remote: &'static [&'static str],
    active: u32,
) -> FleetPlan {
    FleetPlan {
        id,
        name,
        kind,
        region,
        remote,
        active,
    }
}

/// The fleets a timeline can touch; the last one does not exist until a step creates it.
pub const FLEETS: [FleetPlan; 5] = [
    fleet(
        "fleet-7e000000-0000-4000-8000-000000000001",
        "arena",
        "SPOT",
        "us-west-2",
        &["us-east-1"],
        12,
    ),
    fleet(
        "fleet-7e000000-0000-4000-8000-000000000002",
        "battle",
        "SPOT",
        "us-west-2",
        &[],
        150,
    ),
    fleet(
        "fleet-7e000000-0000-4000-8000-000000000003",
        "lobby",
        "ON_DEMAND",
        "us-west-2",
        &[],
        9,
    ),
    fleet(
        "fleet-7e000000-0000-4000-8000-000000000004",
        "europe",
        "SPOT",
        "eu-west-1",
        &[],
        12,
    ),
    fleet(
        "fleet-7e000000-0000-4000-8000-000000000005",
        "canary",
        "SPOT",
        "us-west-2",
        &[],
        9,
    ),
];

/// The fleet a `CreateFleet` step creates.
pub const CREATED: usize = 4;

/// Fault sets a step can turn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 30% of requests throttled.
    Throttling,
    /// 20% of requests answered 500.
    ServerErrors,
    /// `DescribeFleetEvents` refused (AccessDeniedException): a missing IAM action.
    EventsDenied,
    /// `DescribeGameSessionDetails` refused (AccessDeniedException).
    LookupsDenied,
    /// Half of the SQS delete entries fail.
    FailingDeletes,
    /// Every SQS delete entry fails.
    AllDeletesFail,
}

/// One step of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The world and the exporter go on for this long.
    Run(Duration),
    /// Spot capacity reclaimed without notice: up to `instances` instances of a fleet location
    /// hosting ACTIVE sessions (50: a burst).
    Interrupt {
        fleet: usize,
        location: usize,
        instances: usize,
    },
    /// One instance reclaimed with the two-minute notice: its event now, its sessions' end later.
    Notice {
        fleet: usize,
    },
    /// A fleet event (a crash), with a Count or without.
    Crash {
        fleet: usize,
        count: Option<i64>,
    },
    Faults(Fault),
    ClearFaults,
    /// Stop the exporter (with or without its state file), keep it down, start it again.
    Restart {
        keep_state: bool,
        down: Duration,
    },
    /// The same in parts, so that things can happen while it is down.
    Stop {
        keep_state: bool,
    },
    Start,
    /// Reloads that change what is watched.
    Exclude(usize),
    Include(usize),
    /// eu-west-1 leaves or joins `aws.regions`.
    RegionOut,
    RegionIn,
    /// A reload that stretches the interval (a tiny quota share), or restores it.
    Stretch(bool),
    CreateFleet,
    DeleteFleet(usize),
    /// Placement events sent to the events queue (`fresh` new ones, `again` of them sent twice).
    Placements {
        fresh: usize,
        again: usize,
    },
    /// Faults off, the world holds still for a full pass and three live intervals: every
    /// number is checked exactly.
    Settle,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |i: &usize| FLEETS[*i].name;
        match self {
            Step::Run(d) => write!(f, "run {}m", d.as_secs() / 60),
            Step::Interrupt {
                fleet,
                location,
                instances,
            } => write!(
                f,
                "interrupt {instances} instance(s) of {} at location #{location}",
                name(fleet)
            ),
            Step::Notice { fleet } => write!(
                f,
                "reclaim one instance of {} with a 2-minute notice",
                name(fleet)
            ),
            Step::Crash { fleet, count } => {
                write!(f, "SERVER_PROCESS_CRASHED on {} (Count {count:?})", name(fleet))
            }
            Step::Faults(fault) => write!(f, "faults on: {fault:?}"),
            Step::ClearFaults => write!(f, "faults off"),
            Step::Restart { keep_state, down } => write!(
                f,
                "restart {} the state file after {}m down",
                if *keep_state { "with" } else { "WITHOUT" },
                down.as_secs() / 60
            ),
            Step::Stop { keep_state } => write!(
                f,
                "stop {} the state file",
                if *keep_state { "keeping" } else { "DELETING" }
            ),
            Step::Start => write!(f, "start"),
            Step::Exclude(i) => write!(f, "reload: exclude {}", name(i)),
            Step::Include(i) => write!(f, "reload: include {}", name(i)),
            Step::RegionOut => write!(f, "reload: eu-west-1 removed"),
            Step::RegionIn => write!(f, "reload: eu-west-1 added"),
            Step::Stretch(on) => write!(
                f,
                "reload: quota share {}",
                if *on { "tiny (stretched)" } else { "default" }
            ),
            Step::CreateFleet => write!(f, "create fleet {}", FLEETS[CREATED].name),
            Step::DeleteFleet(i) => write!(f, "delete fleet {}", name(i)),
            Step::Placements { fresh, again } => write!(f, "{fresh} placement events ({again} sent twice)"),
            Step::Settle => write!(f, "settle and check exactly"),
        }
    }
}

/// A seed's whole plan.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub seed: u64,
    /// `events_order` of the simulator.
    pub events_order: &'static str,
    /// Whether the events queue is read (then every restart keeps the state file: without it,
    /// a redelivery after a restart counts again, as documented).
    pub with_sqs: bool,
    pub steps: Vec<Step>,
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {}: events {}, {}",
            self.seed,
            self.events_order,
            if self.with_sqs {
                "with the events queue"
            } else {
                "no events queue"
            }
        )?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {i:>2}. {step}")?;
        }
        Ok(())
    }
}

/// Writes the timeline of `seed`: about 20 steps over a few hours of simulated time, every kind
/// of step likely, ending with a settle.
pub fn generate(seed: u64) -> Timeline {
    let mut rng = Rng::new(seed);
    let events_order = *rng.pick(&["newest_first", "oldest_first", "shuffled"]);
    let with_sqs = rng.chance(0.4);
    let mut steps = Vec::new();
    // What the generator knows, to keep steps meaningful (exclude what is included, ...).
    let mut excluded = [false; 5];
    let mut exists = [true, true, true, true, false];
    let mut region_in = true;
    let mut faults = false;
    let mut created = false;
    // Something to count before the exporter ever watches: history, never an increment.
    steps.push(Step::Interrupt {
        fleet: 0,
        location: 0,
        instances: 1,
    });
    steps.push(Step::Run(rng.minutes(1, 3)));
    let count = 9 + rng.below(6) as usize;
    for _ in 0..count {
        let spot: Vec<usize> = [0, 1, 3, 4].into_iter().filter(|i| exists[*i]).collect();
        let step = match rng.below(100) {
            0..=13 => {
                let fleet = *rng.pick(&spot);
                let burst = fleet == 1 && rng.chance(0.3);
                Step::Interrupt {
                    fleet,
                    location: if fleet == 0 { rng.below(2) as usize } else { 0 },
                    instances: if burst { 50 } else { 1 + rng.below(2) as usize },
                }
            }
            14..=19 => Step::Notice {
                fleet: *rng.pick(&spot),
            },
            20..=26 => Step::Crash {
                fleet: *rng.pick(&[0usize, 1, 2, 3]),
                count: rng.chance(0.5).then(|| 1 + rng.below(4) as i64),
            },
            27..=36 if !faults => {
                faults = true;
                Step::Faults(*rng.pick(&[
                    Fault::Throttling,
                    Fault::ServerErrors,
                    Fault::EventsDenied,
                    Fault::LookupsDenied,
                    Fault::FailingDeletes,
                ]))
            }
            27..=36 => {
                faults = false;
                Step::ClearFaults
            }
            37..=41 => {
                let downtimes = [
                    Duration::ZERO,
                    Duration::from_secs(7 * 60),
                    rng.minutes(1, 30),
                    rng.minutes(30, 180),
                ];
                Step::Restart {
                    keep_state: with_sqs || rng.chance(0.7),
                    down: *rng.pick(&downtimes),
                }
            }
            // Down while spot capacity is reclaimed (twice, seven minutes apart) and a process
            // crashes.
            42..=46 => {
                let fleet = *rng.pick(&spot);
                steps.push(Step::Stop {
                    keep_state: with_sqs || rng.chance(0.7),
                });
                steps.push(Step::Run(rng.minutes(0, 10)));
                steps.push(Step::Interrupt {
                    fleet,
                    location: 0,
                    instances: 1,
                });
                steps.push(Step::Run(Duration::from_secs(7 * 60)));
                steps.push(Step::Crash {
                    fleet: *rng.pick(&[0usize, 1, 2, 3]),
                    count: None,
                });
                steps.push(Step::Interrupt {
                    fleet,
                    location: 0,
                    instances: 1,
                });
                steps.push(Step::Run(rng.minutes(0, 60)));
                Step::Start
            }
            47..=54 => {
                let fleet = *rng.pick(&[0usize, 1, 2, 3]);
                if excluded[fleet] {
                    excluded[fleet] = false;
                    Step::Include(fleet)
                } else {
                    excluded[fleet] = true;
                    Step::Exclude(fleet)
                }
            }
            55..=59 => {
                region_in = !region_in;
                if region_in {
                    Step::RegionIn
                } else {
                    Step::RegionOut
                }
            }
            60..=63 => Step::Stretch(rng.chance(0.6)),
            // Fleet ids are never reused: created once, deleted once.
            64..=66 if !created => {
                created = true;
                exists[CREATED] = true;
                Step::CreateFleet
            }
            64..=66 if exists[CREATED] => {
                exists[CREATED] = false;
                Step::DeleteFleet(CREATED)
            }
            67..=72 if with_sqs => Step::Placements {
                fresh: 1 + rng.below(30) as usize,
                again: rng.below(4) as usize,
            },
            73..=77 => Step::Settle,
            _ => Step::Run(rng.minutes(1, 10)),
        };
        steps.push(step);
        steps.push(Step::Run(rng.minutes(1, 3)));
    }
    steps.push(Step::Settle);
    Timeline {
        seed,
        events_order,
        with_sqs,
        steps,
    }
}
