//! The SQS reader of `[events]`: long-polls the queue (`ReceiveMessage`, up to 10 messages,
//! `events.wait_time`), counts each message in one step in the store, publishes the counts,
//! writes the state file (the counted ids), and only then deletes the messages
//! (`DeleteMessageBatch`). A crash before the delete leaves the messages to be redelivered, and
//! the remembered ids keep them from counting twice. Messages that cannot be counted are counted
//! as rejected and deleted too: never retried forever.

use crate::aws::{self, ApiMetrics, ClientSettings};
use crate::config::{AccountConfig, Config, EventsConfig, DEFAULT_ACCOUNT};
use crate::events::{self, Event, Rejected};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use std::time::Duration;

/// What one read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadReport {
    pub messages: usize,
    pub counted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub deleted: usize,
}

/// A client for the configured queue, and what it was built from.
#[derive(Debug, Clone)]
pub struct EventReader {
    pub built_from: EventsConfig,
    client: aws_sdk_sqs::Client,
    /// The `account` and `region` labels of its API counters.
    pub account: String,
    pub region: String,
}

impl EventReader {
    /// Builds the client: the queue's Region, the named account's credentials (its role, if
    /// any), and the endpoint (AWS, or the queue URL's own host for a local SQS).
    pub async fn new(
        config: &Config,
        metrics: &ApiMetrics,
        health: &std::sync::Arc<aws::AccountHealth>,
        credentials: Option<aws_sdk_gamelift::config::Credentials>,
    ) -> anyhow::Result<EventReader> {
        let events = config
            .events
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no [events] section"))?;
        let region = match events.region.clone().or_else(|| events.url_region()) {
            Some(region) => region,
            None => aws::resolve_regions(&config.aws)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("no Region for the events queue: set events.region"))?,
        };
        let account = match &events.account {
            Some(name) => config
                .accounts
                .iter()
                .find(|a| &a.name == name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("events.account {name:?} is not an [[accounts]] entry"))?,
            None => AccountConfig {
                name: DEFAULT_ACCOUNT.to_string(),
                regions: vec![region.clone()],
                role_arn: None,
                external_id: None,
                session_name: "gamelift-exporter".to_string(),
                fleets: Default::default(),
            },
        };
        let settings = ClientSettings {
            aws: &config.aws,
            history_share: config.sweep.history_budget_share,
            metrics,
            health,
            credentials,
        };
        let sdk = aws::sdk_config(
            &settings,
            &account,
            &region,
            events.effective_endpoint().as_deref(),
        )
        .await;
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    // A long poll answers after up to wait_time.
                    .operation_attempt_timeout(events.wait_time + config.aws.request_timeout)
                    .connect_timeout(config.aws.request_timeout.min(Duration::from_secs(5)))
                    .build(),
            )
            .interceptor(aws::attempt_counter(metrics, &account.name, &region))
            .build();
        Ok(EventReader {
            built_from: events,
            client: aws_sdk_sqs::Client::from_conf(sqs),
            account: account.name,
            region,
        })
    }

    /// One long poll, counted by `count` (which must have published the counts and saved the
    /// state when it returns), then the messages deleted.
    pub async fn read_once(
        &self,
        wait: Duration,
        count: impl AsyncFnOnce(&[Result<Event, Rejected>]) -> (usize, usize, usize),
    ) -> Result<ReadReport, String> {
        let queue = &self.built_from.sqs_queue_url;
        let received = self
            .client
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage failed: {}", aws::describe(&e)))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(ReadReport::default());
        }
        let batch: Vec<Result<Event, Rejected>> = messages
            .iter()
            .map(|m| events::parse(m.body().unwrap_or_default()))
            .collect();
        for (message, parsed) in messages.iter().zip(&batch) {
            if let Err(rejected) = parsed {
                tracing::warn!(
                    message_id = message.message_id().unwrap_or_default(),
                    reason = rejected.reason,
                    detail = %rejected.detail,
                    "event message not counted; deleting it"
                );
            }
        }
        let (counted, duplicates, rejected) = count(&batch).await;
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        let deleted = self
            .client
            .delete_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "DeleteMessageBatch failed (the messages come back and count as duplicates): {}",
                    aws::describe(&e)
                )
            })?;
        for failed in deleted.failed() {
            tracing::warn!(
                id = failed.id(),
                code = failed.code(),
                message = failed.message().unwrap_or_default(),
                "a message was not deleted; it comes back and counts as a duplicate"
            );
        }
        Ok(ReadReport {
            messages: messages.len(),
            counted,
            duplicates,
            rejected,
            deleted: deleted.successful().len(),
        })
    }
}
