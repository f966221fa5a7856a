//! The SQS reader of `[events]`: long-polls the queue (`ReceiveMessage`, up to 10 messages,
//! `events.wait_time`) and deletes messages (`DeleteMessageBatch`). The exporter counts each
//! batch in one step in the store, has the state file (the counted ids) written, and only then
//! deletes the messages, while the next poll goes on. A crash before the delete leaves the
//! messages to be redelivered, and the remembered ids keep them from counting twice. Messages
//! that cannot be counted are counted as rejected and deleted too: never retried forever.

use crate::aws::{self, ApiMetrics, ClientSettings};
use crate::config::{AccountConfig, Config, EventsConfig, DEFAULT_ACCOUNT};
use crate::events::{self, Event, Rejected};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};
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

/// The SQS operations the reader calls.
pub const OPERATIONS: [&str; 3] = ["ReceiveMessage", "DeleteMessageBatch", "GetQueueAttributes"];

/// The `account` and `region` labels of the reader's API series, when the config alone says
/// them (the Region may also come from the default chain, known only once the reader is built).
pub fn labels(config: &Config) -> Option<(String, String)> {
    let events = config.events.as_ref()?;
    let region = events
        .region
        .clone()
        .or_else(|| events.url_region())
        .or_else(|| config.aws.home_regions().into_iter().next())?;
    let account = events
        .account
        .clone()
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    Some((account, region))
}

/// SQS keeps a message at most this long (its maximum retention), when the queue's own
/// retention cannot be read.
pub const MAX_RETENTION: Duration = Duration::from_secs(14 * 86_400);

/// A client for the configured queue, and what it was built from.
#[derive(Debug, Clone)]
pub struct EventReader {
    pub built_from: EventsConfig,
    client: aws_sdk_sqs::Client,
    /// The `account` and `region` labels of its API counters.
    pub account: String,
    pub region: String,
    /// How long the queue keeps a message (`MessageRetentionPeriod`): a message not deleted
    /// can come back until then, so its id is remembered that long.
    pub retention: Duration,
}

/// Messages received and read, waiting to be counted and then deleted.
#[derive(Debug, Default)]
pub struct Received {
    pub batch: Vec<Result<Event, Rejected>>,
    /// Each message's receipt handle, and its event id when it has one.
    pub handles: Vec<(String, Option<String>)>,
}

/// What a delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Event ids of the messages deleted.
    pub ids: Vec<String>,
    pub deleted: usize,
    /// Messages not deleted: the whole request failed (`request`) or their entry did (`entry`).
    pub failed_request: usize,
    pub failed_entries: usize,
}

impl EventReader {
    /// Builds the client: the queue's Region, the named account's credentials (its role, if
    /// any), and the endpoint (AWS, or the queue URL's own host for a local SQS); then reads the
    /// queue's retention (`GetQueueAttributes`).
    pub async fn new(
        config: &Config,
        metrics: &ApiMetrics,
        health: &std::sync::Arc<aws::AccountHealth>,
        connection: aws::Connection,
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
            connection,
            budgets: None,
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
        metrics.zero(&account.name, &region, &OPERATIONS);
        let client = aws_sdk_sqs::Client::from_conf(sqs);
        let retention = match client
            .get_queue_attributes()
            .queue_url(&events.sqs_queue_url)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .send()
            .await
        {
            Ok(answer) => answer
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::MessageRetentionPeriod))
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(MAX_RETENTION, Duration::from_secs),
            Err(error) => {
                tracing::warn!(error = %aws::describe(&error), "cannot read the events queue's retention (GetQueueAttributes); ids of messages not deleted are remembered for SQS's maximum, 14 days");
                MAX_RETENTION
            }
        };
        Ok(EventReader {
            built_from: events,
            client,
            account: account.name,
            region,
            retention,
        })
    }

    /// One long poll: the messages received, read.
    pub async fn receive(&self, wait: Duration) -> Result<Received, String> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.built_from.sqs_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage failed: {}", aws::describe(&e)))?;
        let messages = received.messages.unwrap_or_default();
        let mut out = Received::default();
        for message in &messages {
            let parsed = events::parse(message.body().unwrap_or_default());
            if let Err(rejected) = &parsed {
                tracing::warn!(
                    message_id = message.message_id().unwrap_or_default(),
                    reason = rejected.reason,
                    detail = %rejected.detail,
                    "event message not counted; deleting it"
                );
            }
            let id = parsed.as_ref().ok().map(|e| e.id.clone());
            out.handles
                .push((message.receipt_handle().unwrap_or_default().to_string(), id));
            out.batch.push(parsed);
        }
        Ok(out)
    }

    /// Deletes counted messages (`DeleteMessageBatch`). A message not deleted comes back after
    /// its visibility timeout and counts as a duplicate (its id is remembered until it is
    /// deleted, or the queue's retention has passed).
    pub async fn delete(&self, handles: &[(String, Option<String>)]) -> Deleted {
        if handles.is_empty() {
            return Deleted::default();
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = handles
            .iter()
            .enumerate()
            .filter_map(|(i, (handle, _))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        let answer = match self
            .client
            .delete_message_batch()
            .queue_url(&self.built_from.sqs_queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(error = %aws::describe(&error), messages = handles.len(), "DeleteMessageBatch failed; the messages come back and count as duplicates");
                return Deleted {
                    failed_request: handles.len(),
                    ..Deleted::default()
                };
            }
        };
        for failed in answer.failed() {
            tracing::warn!(
                id = failed.id(),
                code = failed.code(),
                message = failed.message().unwrap_or_default(),
                "a message was not deleted; it comes back and counts as a duplicate"
            );
        }
        let ids = answer
            .successful()
            .iter()
            .filter_map(|ok| ok.id().parse::<usize>().ok())
            .filter_map(|i| handles.get(i).and_then(|(_, id)| id.clone()))
            .collect();
        Deleted {
            ids,
            deleted: answer.successful().len(),
            failed_request: 0,
            failed_entries: answer.failed().len(),
        }
    }
}
