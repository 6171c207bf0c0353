//! The orders queue on SQS: SendMessageBatch, 10 entries a call, resending entries that failed
//! on the service's side (with backoff) and refusing those the service says can never succeed.

use crate::ports::{OrderQueue, QueueError};
use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use std::time::Duration;

pub const MAX_ATTEMPTS: u32 = 5;

pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String) -> SqsQueue {
        SqsQueue { client, queue_url }
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
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(b.as_str())
                        .build()
                        .expect("id and body are set")
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
