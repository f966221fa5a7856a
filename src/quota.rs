//! The quota arithmetic `--check-config` prints: each account-Region's budgets (AWS's rate per
//! operation times `aws.quota_share`, under `aws.max_requests_per_second`), what a live round
//! and a capacity cycle cost for the fleets it can see, and the shortest live interval those
//! budgets can pay for. Printed as TOML comments, so the output stays a valid config.

use crate::aws::{self, ApiMetrics, ClientSettings};
use crate::budget::{Budgets, AWS_RATES};
use crate::config::Config;
use crate::discovery;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// How long `--check-config` tries to reach GameLift before printing the formula instead.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The budgets and the formula, for any fleets.
pub fn formula(config: &Config) -> String {
    let budgets = Budgets::new(
        config.aws.max_requests_per_second,
        config.aws.quota_share,
        config.sweep.history_budget_share,
        |_| None,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Quota arithmetic, per account and Region (aws.quota_share = {}, aws.max_requests_per_second = {}):",
        config.aws.quota_share, config.aws.max_requests_per_second
    );
    for (operation, rate) in AWS_RATES {
        let share = rate * config.aws.quota_share;
        let capped = if budgets.configured(operation) < share {
            ", capped by aws.max_requests_per_second"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "#   {operation}: {}/s (AWS's {rate}/s x {} = {}/s{capped})",
            round(budgets.configured(operation)),
            config.aws.quota_share,
            round(share)
        );
    }
    let statuses = config.sweep.live_statuses.len();
    let _ = writeln!(
        out,
        "# A live round costs, per fleet, DescribeGameSessions = sum over the {statuses} live statuses of max(1, ceil(sessions / {})) and DescribeFleetEvents = 1 (plus one DescribeGameSessionDetails per interrupted session).",
        config.sweep.page_size
    );
    let _ = writeln!(
        out,
        "# Shortest live interval = max(calls(op) / budget(op)) over the operations, all calls / the overall cap; DescribeGameSessions leaves sweep.history_budget_share ({}) of its budget to full passes. Above sweep.interval, live passes run at that interval instead (gamelift_exporter_effective_interval_seconds).",
        config.sweep.history_budget_share
    );
    let _ = writeln!(
        out,
        "# A capacity cycle costs 2 x ceil(fleets / batch) + 2 x remote locations calls every sweep.capacity_interval."
    );
    out
}

fn round(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The figures for the fleets each account-Region can see now (lower bounds: one page per live
/// status), or why they could not be had.
pub async fn reached(
    config: &Config,
    settings_credentials: Option<aws_sdk_gamelift::config::Credentials>,
) -> String {
    let metrics = match ApiMetrics::new(&prometheus::Registry::new()) {
        Ok(metrics) => metrics,
        Err(error) => return format!("# (cannot count calls: {error})\n"),
    };
    let health = Arc::new(aws::AccountHealth::default());
    let work = async {
        let accounts = aws::resolve_accounts(&config.aws, &config.effective_accounts()).await?;
        let settings = ClientSettings {
            aws: &config.aws,
            history_share: config.sweep.history_budget_share,
            metrics: &metrics,
            health: &health,
            connection: aws::Connection {
                credentials: settings_credentials,
                ..Default::default()
            },
            budgets: None,
        };
        let mut out = String::new();
        for client in aws::clients(&settings, &accounts).await {
            let mut filters = vec![config.fleets.clone()];
            if let Some(account) = accounts.iter().find(|a| a.name == client.account) {
                filters.push(account.fleets.clone());
            }
            let fleets = discovery::discover(
                &client,
                &filters,
                config.sweep.page_size,
                &mut discovery::Calls::new(),
            )
            .await?;
            let locations: usize = fleets.iter().map(|f| f.locations.len()).sum();
            let remote = locations - fleets.len();
            let calls = BTreeMap::from([
                (
                    "DescribeGameSessions",
                    (fleets.len() * config.sweep.live_statuses.len()) as u64,
                ),
                ("DescribeFleetEvents", fleets.len() as u64),
            ]);
            let seconds = client.budgets.seconds_for(&calls);
            let managed = fleets.iter().filter(|f| f.has_managed_capacity()).count();
            let _ = writeln!(
                out,
                "# account {:?}, {}: {} fleets in {} locations; a live round costs at least {} DescribeGameSessions + {} DescribeFleetEvents calls, which the budgets pay for every {}s or more (sweep.interval = {}); a capacity cycle costs 2 x ceil({managed} / batch) + {} calls.",
                client.account,
                client.region,
                fleets.len(),
                locations,
                calls["DescribeGameSessions"],
                calls["DescribeFleetEvents"],
                round(seconds),
                crate::duration::format(config.sweep.interval),
                2 * remote
            );
        }
        anyhow::Ok(out)
    };
    match tokio::time::timeout(REACH_TIMEOUT, work).await {
        Ok(Ok(text)) => text,
        Ok(Err(error)) => {
            format!("# (the configured fleets could not be reached: {error:#}; the formula above applies)\n")
        }
        Err(_) => format!(
            "# (the configured fleets could not be reached within {}s; the formula above applies)\n",
            REACH_TIMEOUT.as_secs()
        ),
    }
}
