//! The client-side request budgets of one account and Region: every HTTP attempt, retries
//! included, waits for a slot of its operation's budget and of the overall cap, so the exporter
//! never spends more of the account's API quota (which the game's own backend shares) than the
//! operator allowed.
//!
//! - AWS sets a quota per operation, account and Region ([`AWS_RATES`]); each operation's budget
//!   is that rate times `aws.quota_share`, and `aws.max_requests_per_second` caps them all
//!   together ([`Budgets`]).
//! - Slots are spaced `1 / rate` apart (plus 5% slack against scheduling jitter), so calls
//!   trickle instead of bursting.
//! - Full passes ([`Lane::History`]) also wait for a slot of their own lane, paced at
//!   `sweep.history_budget_share` of the rate: a month of history can never take more than that
//!   share, so live passes always find most of the budget free.
//! - A `ThrottlingException` halves the rate (at most once per second, so that one burst of
//!   throttled calls in flight does not collapse it); successful calls restore it additively,
//!   never above the configured rate: the AWS SDKs' adaptive mode in its simplest form.

use prometheus::{Counter, Gauge};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// AWS's default rate quotas (requests per second, per account and Region) of the operations
/// the exporter calls, from the GameLift Servers API limits page. `DescribeGameSessions` also
/// has resource-level (per fleet) throttling, which has no published rate.
pub const AWS_RATES: [(&str, f64); 12] = [
    ("DescribeGameSessions", 20.0),
    ("DescribeGameSessionDetails", 30.0),
    ("DescribeFleetEvents", 30.0),
    ("DescribeFleetAttributes", 30.0),
    ("DescribeFleetLocationAttributes", 30.0),
    ("DescribeFleetCapacity", 30.0),
    ("DescribeFleetLocationCapacity", 30.0),
    ("DescribeFleetUtilization", 30.0),
    ("DescribeFleetLocationUtilization", 30.0),
    ("ListFleets", 30.0),
    ("DescribeGameSessionQueues", 30.0),
    ("DescribeMatchmakingConfigurations", 30.0),
];

/// The `operation` label of the overall cap's series.
pub const ALL_OPERATIONS: &str = "all";

/// AWS's rate for `operation` (30/s, the common one, for an operation not in the table).
pub fn aws_rate(operation: &str) -> f64 {
    AWS_RATES
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or(30.0, |(_, rate)| *rate)
}

/// Gauges and counters of one budget: `..._request_budget_per_second`,
/// `..._request_budget_configured_per_second` and `..._request_budget_wait_seconds_total`.
#[derive(Debug, Clone)]
pub struct BudgetGauges {
    pub current: Gauge,
    pub configured: Gauge,
    pub waited: Counter,
}

/// The budgets of one account and Region: one per operation, and the overall cap. Several
/// configured accounts that are one AWS account share one `Budgets` per Region (AWS's quotas
/// are per AWS account), and plan their work together ([`Budgets::plan`]).
#[derive(Debug)]
pub struct Budgets {
    history_share: Mutex<f64>,
    overall: RequestBudget,
    operations: BTreeMap<&'static str, RequestBudget>,
    /// What each worker sharing these budgets asks of them, by worker key.
    demands: Mutex<BTreeMap<String, Demand>>,
}

/// What one account-Region worker's work costs, for planning: calls by operation per live
/// round, per capacity cycle and per discovery, at the configured intervals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demand {
    /// Calls of one live round (each fleet's latest live pass: listings, events polls,
    /// lookups), by operation.
    pub live_round: BTreeMap<&'static str, u64>,
    /// Calls of one capacity cycle, by operation.
    pub capacity_cycle: BTreeMap<&'static str, u64>,
    /// Calls of one discovery, by operation.
    pub discovery: BTreeMap<&'static str, u64>,
    /// `sweep.interval`, `sweep.capacity_interval` (zero: off), `sweep.discovery_interval`.
    pub live_interval: Duration,
    pub capacity_interval: Duration,
    pub discovery_interval: Duration,
}

impl Demand {
    /// Calls per second of `operation` (`None`: all operations together) by live rounds, by
    /// capacity cycles and by discoveries, at the configured intervals.
    fn rates(&self, operation: Option<&str>) -> [f64; 3] {
        let sum = |calls: &BTreeMap<&'static str, u64>| -> f64 {
            calls
                .iter()
                .filter(|(op, _)| operation.is_none_or(|o| o == **op))
                .map(|(_, n)| *n as f64)
                .sum()
        };
        let per = |calls: f64, every: Duration| {
            if every.is_zero() {
                0.0
            } else {
                calls / every.as_secs_f64()
            }
        };
        [
            per(sum(&self.live_round), self.live_interval),
            per(sum(&self.capacity_cycle), self.capacity_interval),
            per(sum(&self.discovery), self.discovery_interval),
        ]
    }
}

/// What the budgets pay for: the live and capacity intervals multiplied by their factors (at
/// least 1), so that live passes, capacity cycles, discovery and the full passes' share fit every
/// budget together. `binding` names the budget that set the live factor and what consumes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub live: f64,
    pub capacity: f64,
    pub binding: String,
}

/// `interval` stretched by `factor`, in whole milliseconds (rounded up), never shorter.
pub fn stretch(interval: Duration, factor: f64) -> Duration {
    let stretched = interval.as_secs_f64() * factor;
    Duration::from_millis((stretched * 1000.0 - 1e-6).ceil().max(0.0) as u64).max(interval)
}

impl Plan {
    pub fn live_interval(&self, configured: Duration) -> Duration {
        stretch(configured, self.live)
    }

    pub fn capacity_interval(&self, configured: Duration) -> Duration {
        stretch(configured, self.capacity)
    }
}

impl Budgets {
    /// `gauges(operation)` gives each budget's series (operation [`ALL_OPERATIONS`] for the cap).
    pub fn new(
        cap: f64,
        quota_share: f64,
        history_share: f64,
        mut gauges: impl FnMut(&str) -> Option<BudgetGauges>,
    ) -> Budgets {
        let operations = AWS_RATES
            .iter()
            .map(|(op, rate)| {
                (
                    *op,
                    RequestBudget::new((rate * quota_share).min(cap), history_share, gauges(op)),
                )
            })
            .collect();
        Budgets {
            history_share: Mutex::new(history_share),
            overall: RequestBudget::new(cap, history_share, gauges(ALL_OPERATIONS)),
            operations,
            demands: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records what `worker` asks of these budgets and plans every worker sharing them. Live
    /// passes and capacity cycles use different operations, so each operation's budget binds
    /// one of them: each is stretched by what its own operations need (discovery's calls and the
    /// share full passes may take of `DescribeGameSessions` set aside). If together they still
    /// ask the overall cap for more than it leaves, both are stretched further by the same factor.
    pub fn plan(&self, worker: &str, demand: Demand) -> Plan {
        let mut demands = self.demands.lock().unwrap_or_else(|p| p.into_inner());
        demands.insert(worker.to_string(), demand);
        let history = self.history_share() * self.configured("DescribeGameSessions");
        let rates = |operation: Option<&str>| -> [f64; 3] {
            demands
                .values()
                .map(|d| d.rates(operation))
                .fold([0.0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
        };
        let factor = |need: f64, available: f64| {
            if need <= 0.0 {
                1.0
            } else if available <= 0.0 {
                // Discovery alone takes the whole budget: a sliver is left.
                1e6
            } else {
                (need / available).max(1.0)
            }
        };
        let mut plan = Plan {
            live: 1.0,
            capacity: 1.0,
            binding: String::new(),
        };
        for (operation, budget) in &self.operations {
            let [live, capacity, discovery] = rates(Some(operation));
            let rate = budget.configured()
                - if *operation == "DescribeGameSessions" {
                    history
                } else {
                    0.0
                };
            let available = rate - discovery;
            let live_factor = factor(live, available);
            if live_factor > plan.live {
                plan.live = live_factor;
                plan.binding = format!("{operation}: live passes ask {live:.3} calls/s of {available:.3}/s");
            }
            plan.capacity = plan.capacity.max(factor(capacity, available));
        }
        let [live, capacity, discovery] = rates(None);
        let available = self.overall.configured() - history - discovery;
        let asked = live / plan.live + capacity / plan.capacity;
        let overall = factor(asked, available);
        if overall > 1.0 {
            plan.live *= overall;
            plan.capacity *= overall;
            plan.binding = format!(
                "{ALL_OPERATIONS}: live passes ask {live:.3} calls/s and capacity cycles {capacity:.3} of {available:.3}/s"
            );
        }
        plan
    }

    /// Forgets a worker that stopped (its account-Region is no longer swept).
    pub fn forget(&self, worker: &str) {
        self.demands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(worker);
    }

    fn of(&self, operation: &str) -> &RequestBudget {
        self.operations.get(operation).unwrap_or(&self.overall)
    }

    /// The configured rate of `operation`'s budget (the cap's for [`ALL_OPERATIONS`]).
    pub fn configured(&self, operation: &str) -> f64 {
        self.of(operation).configured()
    }

    fn history_share(&self) -> f64 {
        *self.history_share.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a new configuration in place (a reload): every call, in flight or new, keeps going
    /// through these same budgets, so none bursts past a rate when the configuration changes.
    pub fn reconfigure(&self, cap: f64, quota_share: f64, history_share: f64) {
        *self.history_share.lock().unwrap_or_else(|p| p.into_inner()) = history_share;
        self.overall.reconfigure(cap, history_share);
        for (operation, budget) in &self.operations {
            budget.reconfigure((aws_rate(operation) * quota_share).min(cap), history_share);
        }
    }

    /// The shortest interval at which `calls` (per live round, by operation) fit the configured
    /// budgets, in seconds: for each operation, its calls over what full passes leave of its
    /// rate (they may take `history_share` of `DescribeGameSessions`), and all calls over what
    /// they leave of the overall cap.
    pub fn seconds_for(&self, calls: &BTreeMap<&str, u64>) -> f64 {
        let history = self.history_share() * self.configured("DescribeGameSessions");
        let mut seconds: f64 = 0.0;
        let mut total = 0;
        for (operation, n) in calls {
            let mut rate = self.configured(operation);
            if *operation == "DescribeGameSessions" {
                rate -= history;
            }
            seconds = seconds.max(*n as f64 / rate);
            total += n;
        }
        seconds.max(total as f64 / (self.overall.configured() - history))
    }

    /// The rate in force now for `operation`.
    pub fn rate(&self, operation: &str) -> f64 {
        self.of(operation).rate()
    }

    /// Waits for a slot of the operation's budget (in `lane`), then of the overall cap.
    pub async fn acquire(&self, operation: &str, lane: Lane) {
        let budget = self.of(operation);
        if !std::ptr::eq(budget, &self.overall) {
            budget.acquire(lane).await;
            self.overall.acquire(Lane::Live).await;
        } else {
            self.overall.acquire(lane).await;
        }
    }

    /// A `ThrottlingException`: the operation's quota is exhausted right now.
    pub fn throttled(&self, operation: &str) {
        self.of(operation).throttled();
    }

    pub fn succeeded(&self, operation: &str) {
        self.of(operation).succeeded();
    }
}

/// Which kind of work a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Discovery and live passes: the numbers published as current.
    Live,
    /// Full passes over the terminated history, in the background.
    History,
}

/// Slack on every interval, so that jitter on a busy host never lands N+1 calls in one second.
const SLACK: f64 = 1.05;
/// Throttling never slows the budget below this fraction of the configured rate.
const FLOOR_FRACTION: f64 = 1.0 / 32.0;
/// After throttling, the rate grows back by this fraction of the configured rate per second of
/// successful calls.
const RECOVERY_PER_SECOND: f64 = 0.05;

#[derive(Debug)]
struct State {
    /// Bumped by every reconfiguration: slots handed out before it are not used.
    generation: u64,
    /// The latest slot handed out (it may be in the future).
    last_slot: Option<Instant>,
    configured: f64,
    history_share: f64,
    rate: f64,
    next_slot: Instant,
    next_history_slot: Instant,
    last_decrease: Option<Instant>,
    last_update: Instant,
}

/// One Region's budget. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RequestBudget {
    state: Mutex<State>,
    gauges: Option<BudgetGauges>,
}

impl RequestBudget {
    pub fn new(rate: f64, history_share: f64, gauges: Option<BudgetGauges>) -> RequestBudget {
        let now = Instant::now();
        if let Some(gauges) = &gauges {
            gauges.current.set(rate);
            gauges.configured.set(rate);
        }
        RequestBudget {
            state: Mutex::new(State {
                generation: 0,
                last_slot: None,
                configured: rate,
                history_share,
                rate,
                next_slot: now,
                next_history_slot: now,
                last_decrease: None,
                last_update: now,
            }),
            gauges,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rate in force now (requests per second).
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// The configured rate.
    pub fn configured(&self) -> f64 {
        self.lock().configured
    }

    /// A new configuration (a reload): the rate starts over at it, and the slots already handed
    /// out stay, so that calls in flight and new ones never burst past either rate.
    pub fn reconfigure(&self, rate: f64, history_share: f64) {
        let mut state = self.lock();
        if state.configured == rate && state.history_share == history_share {
            return;
        }
        state.configured = rate;
        state.history_share = history_share;
        state.rate = rate;
        // Every call waiting queues again, the first one a whole new interval after the last
        // slot handed out.
        state.generation += 1;
        let now = Instant::now();
        let after = state
            .last_slot
            .map_or(now, |last| last + Duration::from_secs_f64(SLACK / rate))
            .max(now);
        state.next_slot = after;
        state.next_history_slot = after;
        if let Some(gauges) = &self.gauges {
            gauges.current.set(rate);
            gauges.configured.set(rate);
        }
    }

    /// Waits for this attempt's slot; the wait is added to the budget's wait counter.
    pub async fn acquire(&self, lane: Lane) {
        let start = Instant::now();
        self.wait_for_slot(lane).await;
        if let Some(gauges) = &self.gauges {
            gauges.waited.inc_by(start.elapsed().as_secs_f64());
        }
    }

    async fn wait_for_slot(&self, lane: Lane) {
        // A slot handed out before a reconfiguration is not used: the call queues again under
        // the rate in force (so a lower rate holds from the moment it is configured).
        loop {
            let generation = self.lock().generation;
            if lane == Lane::History {
                let slot = {
                    let mut state = self.lock();
                    let slot = state.next_history_slot.max(Instant::now());
                    state.next_history_slot =
                        slot + Duration::from_secs_f64(SLACK / (state.rate * state.history_share));
                    slot
                };
                sleep_until(slot).await;
                if self.lock().generation != generation {
                    continue;
                }
            }
            let slot = {
                let mut state = self.lock();
                let slot = state.next_slot.max(Instant::now());
                state.next_slot = slot + Duration::from_secs_f64(SLACK / state.rate);
                state.last_slot = Some(state.last_slot.map_or(slot, |last| last.max(slot)));
                slot
            };
            sleep_until(slot).await;
            if self.lock().generation == generation {
                return;
            }
        }
    }

    /// The service said `ThrottlingException`: the account's quota is exhausted right now.
    pub fn throttled(&self) {
        let mut state = self.lock();
        let now = Instant::now();
        if state
            .last_decrease
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        state.rate = (state.rate / 2.0).max(state.configured * FLOOR_FRACTION);
        state.last_decrease = Some(now);
        state.last_update = now;
        self.show(state.rate);
    }

    /// A call went through: grow back towards the configured rate.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        if state.rate >= state.configured {
            return;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(state.last_update).as_secs_f64();
        state.rate = (state.rate + state.configured * RECOVERY_PER_SECOND * elapsed).min(state.configured);
        state.last_update = now;
        self.show(state.rate);
    }

    fn show(&self, rate: f64) {
        if let Some(gauges) = &self.gauges {
            gauges.current.set(rate);
        }
    }
}

/// A slot already due needs no timer (a timer would cost a wheel tick per call).
async fn sleep_until(slot: Instant) {
    if slot > Instant::now() {
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_at_the_rate() {
        let budget = RequestBudget::new(4.0, 0.25, None);
        let start = Instant::now();
        for _ in 0..5 {
            budget.acquire(Lane::Live).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs_f64(4.0 * SLACK / 4.0));
    }

    #[tokio::test(start_paused = true)]
    async fn history_gets_its_share_and_live_calls_pass_between() {
        let budget = std::sync::Arc::new(RequestBudget::new(8.0, 0.25, None));
        let start = Instant::now();
        // Four history calls at a quarter of 8/s: 2/s, so the fourth waits three intervals.
        for _ in 0..4 {
            budget.acquire(Lane::History).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs_f64(3.0 * SLACK / 2.0));
        // Meanwhile the live lane was free: a live call now waits for at most one slot.
        let live = Instant::now();
        budget.acquire(Lane::Live).await;
        let waited = live.elapsed();
        // (tokio timers have a resolution of one millisecond)
        assert!(
            waited <= Duration::from_secs_f64(SLACK / 8.0) + Duration::from_millis(1),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_operation_has_its_share_of_its_quota_under_the_overall_cap() {
        let budgets = Budgets::new(100.0, 0.25, 0.25, |_| None);
        assert_eq!(budgets.configured("DescribeGameSessions"), 5.0, "20/s x 0.25");
        assert_eq!(budgets.configured("DescribeFleetEvents"), 7.5, "30/s x 0.25");
        assert_eq!(budgets.configured(ALL_OPERATIONS), 100.0);
        let capped = Budgets::new(2.0, 0.25, 0.25, |_| None);
        assert_eq!(
            capped.configured("DescribeFleetEvents"),
            2.0,
            "never above the cap"
        );
        // Five DescribeGameSessions calls take four of its intervals; events calls in between
        // are not held up by them.
        let start = Instant::now();
        for _ in 0..5 {
            budgets.acquire("DescribeGameSessions", Lane::Live).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs_f64(4.0 * SLACK / 5.0));
        let events = Instant::now();
        budgets.acquire("DescribeFleetEvents", Lane::Live).await;
        assert!(
            events.elapsed() <= Duration::from_millis(11),
            "{:?}",
            events.elapsed()
        );
        // Throttling slows only its own operation.
        budgets.throttled("DescribeGameSessions");
        assert_eq!(budgets.rate("DescribeGameSessions"), 2.5);
        assert_eq!(budgets.rate("DescribeFleetEvents"), 7.5);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_once_per_second_and_success_recovers_additively() {
        let budget = RequestBudget::new(10.0, 0.25, None);
        budget.throttled();
        budget.throttled();
        assert_eq!(budget.rate(), 5.0, "a burst of throttled calls halves once");
        tokio::time::advance(Duration::from_millis(1500)).await;
        budget.throttled();
        assert_eq!(budget.rate(), 2.5);
        for _ in 0..20 {
            budget.throttled();
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        assert_eq!(budget.rate(), 10.0 * FLOOR_FRACTION, "never below the floor");
        // Six seconds since the last decrease (two in the loop, four here).
        tokio::time::advance(Duration::from_secs(4)).await;
        budget.succeeded();
        assert!((budget.rate() - (10.0 * FLOOR_FRACTION + 10.0 * 0.05 * 6.0)).abs() < 1e-9);
        tokio::time::advance(Duration::from_secs(60)).await;
        budget.succeeded();
        assert_eq!(budget.rate(), 10.0, "never above the configured rate");
    }
}
