//! The orders queue on SQS: SendMessageBatch, 10 entries a call, resending entries that failed
//! on the service's side (with backoff) and refusing those the service says can never succeed.

use crate::config::QueueRef;
use crate::store::{OrderQueue, QueueError};
use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use std::time::Duration;

pub(crate) const MAX_ATTEMPTS: u32 = 5;

pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String) -> SqsQueue {
        SqsQueue { client, queue_url }
    }

    fn fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }

    /// Sends up to 10 bodies; returns how many calls it took.
    pub async fn send_batch(&self, bodies: &[String]) -> Result<u32, QueueError> {
        let mut left: Vec<(usize, &String)> = bodies.iter().enumerate().collect();
        let mut attempt = 0;
        while !left.is_empty() {
            attempt += 1;
            let entries = left
                .iter()
                .map(|(i, b)| {
                    let entry = SendMessageBatchRequestEntry::builder().id(format!("m{i}")).message_body(b.as_str());
                    let entry = if self.fifo() {
                        // FIFO: each customer's orders stay in order; the content deduplicates.
                        use sha2::Digest;
                        entry
                            .message_group_id(message_group_for(b))
                            .message_deduplication_id(format!("{:x}", sha2::Sha256::digest(b.as_bytes())))
                    } else {
                        entry
                    };
                    entry.build().expect("id and body are set")
                })
                .collect();
            let res =
                self.client.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await;
            let out = match res {
                Ok(out) => out,
                Err(e) if attempt < MAX_ATTEMPTS && super::is_transient(&e) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(QueueError::Transient(super::describe(&e))),
            };
            let mut retry = Vec::new();
            for f in out.failed() {
                let idx: usize = f.id().trim_start_matches('m').parse().unwrap_or(usize::MAX);
                if f.sender_fault() {
                    return Err(QueueError::Refused {
                        count: out.failed().len(),
                        reason: format!("{}: {}", f.code(), f.message().unwrap_or("")),
                    });
                }
                if let Some(entry) = left.iter().find(|(i, _)| *i == idx) {
                    retry.push(*entry);
                }
            }
            if !retry.is_empty() && attempt >= MAX_ATTEMPTS {
                return Err(QueueError::Transient(format!(
                    "{} message(s) still failing after {attempt} attempts",
                    retry.len()
                )));
            }
            if !retry.is_empty() {
                tracing::warn!(
                    failed = retry.len(),
                    attempt,
                    "SendMessageBatch partially failed; resending the failed entries"
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
            left = retry;
        }
        Ok(attempt)
    }
}

/// The FIFO message group of an order body: its customer, so each customer's orders stay in
/// order (one shared group if it has none). `orderflow enqueue --fifo` uses it for the embedded queue too.
pub(crate) fn message_group_for(body: &str) -> String {
    crate::codec::order::read(body)
        .ok()
        .and_then(|i| i.customer_id_text().map(str::to_string))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "orderflow".to_string())
}

/// A queue's URL: the one its variable gave, else looked up by its name (GetQueueUrl).
pub async fn queue_url(client: &Client, queue: &QueueRef) -> anyhow::Result<String> {
    if let Some(url) = &queue.url {
        return Ok(url.clone());
    }
    let (env_var, default_name) = (queue.env_var, &queue.name);
    let out = client.get_queue_url().queue_name(default_name).send().await.map_err(|e| {
        anyhow::anyhow!(
            "{env_var} is not set and queue {default_name:?} cannot be found ({}); run `orderflow bootstrap --aws` on an emulator, or set {env_var}",
            super::describe(&e)
        )
    })?;
    out.queue_url().map(str::to_string).ok_or_else(|| anyhow::anyhow!("GetQueueUrl returned no URL for {default_name}"))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64 << attempt.min(6))
}

#[async_trait]
impl OrderQueue for SqsQueue {
    async fn send_all(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        if self.queue_url.is_empty() {
            return Err(QueueError::Transient(format!("{} is not set", crate::config::ENV_ORDERS_QUEUE_URL)));
        }
        for chunk in bodies.chunks(10) {
            self.send_batch(chunk).await?;
        }
        Ok(())
    }
}
