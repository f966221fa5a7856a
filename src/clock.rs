//! Wall time, as the exporter reads it: one small seam so that a test can hand the exporter the
//! simulator's clock (the timeline simulation runs hours of a world in milliseconds). Timers and
//! pacing stay on tokio's clock, which a paused test runtime advances on its own; production
//! uses [`SystemClock`].

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from: the time the exporter stamps, counts from and compares with
/// GameLift's own timestamps (TerminationTime, EventTime).
pub trait Clock: Send + Sync + Debug {
    /// Unix epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// The same clock as the AWS SDK's time source (request signing, credential expiry), so that
/// credentials a simulated STS hands out expire on the simulated clock.
#[derive(Debug, Clone)]
pub struct SdkTimeSource(pub SharedClock);

impl aws_smithy_async::time::TimeSource for SdkTimeSource {
    fn now(&self) -> SystemTime {
        let ms = self.0.now_ms().max(0) as u64;
        UNIX_EPOCH + Duration::from_millis(ms)
    }
}

/// A clock that moves only when told: unit tests, and the timeline simulation's world clock.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(now_ms)))
    }

    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn advance(&self, by_ms: i64) {
        self.0.fetch_add(by_ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
