//! The client-side request budget of one Region: every HTTP attempt, retries included, waits for
//! a slot, so the exporter never spends more of the account's API quota (which the game's own
//! backend shares) than the operator allowed.
//!
//! - Slots are spaced `1 / rate` apart (plus 5% slack against scheduling jitter), so calls
//!   trickle instead of bursting.
//! - Full passes ([`Lane::History`]) also wait for a slot of their own lane, paced at
//!   `sweep.history_budget_share` of the rate: a month of history can never take more than that
//!   share, so live passes always find most of the budget free.
//! - A `ThrottlingException` halves the rate (at most once per second, so that one burst of
//!   throttled calls in flight does not collapse it); successful calls restore it additively,
//!   never above the configured rate: the AWS SDKs' adaptive mode in its simplest form.

use prometheus::Gauge;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

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
    rate: f64,
    next_slot: Instant,
    next_history_slot: Instant,
    last_decrease: Option<Instant>,
    last_update: Instant,
}

/// One Region's budget. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RequestBudget {
    configured: f64,
    history_share: f64,
    state: Mutex<State>,
    /// `gamelift_exporter_request_budget_per_second{region}`.
    gauge: Option<Gauge>,
}

impl RequestBudget {
    pub fn new(rate: f64, history_share: f64, gauge: Option<Gauge>) -> RequestBudget {
        let now = Instant::now();
        if let Some(gauge) = &gauge {
            gauge.set(rate);
        }
        RequestBudget {
            configured: rate,
            history_share,
            state: Mutex::new(State {
                rate,
                next_slot: now,
                next_history_slot: now,
                last_decrease: None,
                last_update: now,
            }),
            gauge,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rate in force now (requests per second).
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// Waits for this attempt's slot.
    pub async fn acquire(&self, lane: Lane) {
        if lane == Lane::History {
            let slot = {
                let mut state = self.lock();
                let slot = state.next_history_slot.max(Instant::now());
                state.next_history_slot =
                    slot + Duration::from_secs_f64(SLACK / (state.rate * self.history_share));
                slot
            };
            sleep_until(slot).await;
        }
        let slot = {
            let mut state = self.lock();
            let slot = state.next_slot.max(Instant::now());
            state.next_slot = slot + Duration::from_secs_f64(SLACK / state.rate);
            slot
        };
        sleep_until(slot).await;
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
        state.rate = (state.rate / 2.0).max(self.configured * FLOOR_FRACTION);
        state.last_decrease = Some(now);
        state.last_update = now;
        self.show(state.rate);
    }

    /// A call went through: grow back towards the configured rate.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        if state.rate >= self.configured {
            return;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(state.last_update).as_secs_f64();
        state.rate = (state.rate + self.configured * RECOVERY_PER_SECOND * elapsed).min(self.configured);
        state.last_update = now;
        self.show(state.rate);
    }

    fn show(&self, rate: f64) {
        if let Some(gauge) = &self.gauge {
            gauge.set(rate);
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
