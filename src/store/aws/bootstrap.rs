//! `orderflow bootstrap --aws`: creates the AWS resources the functions and the local runtime
//! need — the orders table with its stream, the queues with their dead-letter queues, the
//! bucket with its import notification — with the settings `infra/` gives them, for an account
//! (or moto, LocalStack) without Terraform. Every step looks first and only creates or corrects
//! what differs, so running it again succeeds and changes nothing.
//!
//! Not mirrored (Terraform-only, they need resources bootstrap does not own): the KMS key for
//! table and bucket encryption, the bucket policy, lifecycle rules, alarms and IAM.

use crate::config::{self, Config};
use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Event, FilterRule, FilterRuleName,
    NotificationConfiguration, NotificationConfigurationFilter, PublicAccessBlockConfiguration, QueueConfiguration,
    S3KeyFilter, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName as Qa;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Retention as `infra/sqs.tf` sets it: 4 days on the work queues, 14 on the dead-letter ones.
const WORK_RETENTION_S: u32 = 345_600;
const DLQ_RETENTION_S: u32 = 1_209_600;
/// How long to wait for a new table to become ACTIVE.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// The names of the resources, resolved once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub table: String,
    pub bucket: String,
    pub orders_queue: String,
    pub uploads_queue: String,
    pub stream_failures_queue: String,
}

impl Names {
    /// The names `config` resolved (a queue's name is its URL's last path segment).
    pub(crate) fn of(config: &Config) -> Names {
        Names {
            table: config.table.clone(),
            bucket: config.bucket.clone(),
            orders_queue: config.orders_queue.name.clone(),
            uploads_queue: config.uploads_queue.name.clone(),
            stream_failures_queue: config.stream_failures_queue.name.clone(),
        }
    }

    /// A queue's dead-letter queue, named as `infra/sqs.tf` names it.
    pub fn dlq(queue: &str) -> String {
        format!("{queue}{}", config::DLQ_SUFFIX)
    }
}

/// A queue as bootstrap left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// What bootstrap resolved, and what it had to create or correct on this run.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub region: String,
    pub table: String,
    pub table_arn: String,
    pub stream_arn: String,
    pub bucket: String,
    pub orders: QueueInfo,
    pub orders_dlq: QueueInfo,
    pub uploads: QueueInfo,
    pub uploads_dlq: QueueInfo,
    pub stream_failures: QueueInfo,
    /// One line per resource created or setting changed; empty when everything was in place.
    pub changes: Vec<String>,
}

impl Bootstrapped {
    /// `export NAME=value` lines for every variable the functions and the CLI read.
    pub fn exports(&self) -> String {
        let mut out = String::new();
        for (var, value) in [
            (config::ENV_TABLE, &self.table),
            (config::ENV_BUCKET, &self.bucket),
            (config::ENV_ORDERS_QUEUE_URL, &self.orders.url),
            (config::ENV_UPLOADS_QUEUE_URL, &self.uploads.url),
            (config::ENV_STREAM_FAILURES_QUEUE_URL, &self.stream_failures.url),
        ] {
            let _ = writeln!(out, "export {var}={}", shell_quote(value));
        }
        out
    }
}

/// A value as one shell word: bare when it has only safe characters (names, URLs), else quoted.
fn shell_quote(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// Bootstraps the resources of explicit names.
pub async fn bootstrap_with(cfg: &aws_config::SdkConfig, names: &Names) -> anyhow::Result<Bootstrapped> {
    let region = cfg.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".to_string());
    let mut changes = Vec::new();

    let ddb = aws_sdk_dynamodb::Client::new(cfg);
    let (table_arn, stream_arn) = ensure_table(&ddb, &names.table, &mut changes).await?;

    let sqs = aws_sdk_sqs::Client::new(cfg);
    let orders_dlq = ensure_queue(&sqs, &Names::dlq(&names.orders_queue), dlq_attributes(), &mut changes).await?;
    let orders =
        ensure_queue(&sqs, &names.orders_queue, work_attributes(config::SQS_TIMEOUT_S, &orders_dlq.arn), &mut changes)
            .await?;
    allow_redrive(&sqs, &orders_dlq, &orders.arn, &mut changes).await?;
    let uploads_dlq = ensure_queue(&sqs, &Names::dlq(&names.uploads_queue), dlq_attributes(), &mut changes).await?;
    let uploads =
        ensure_queue(&sqs, &names.uploads_queue, work_attributes(config::S3_TIMEOUT_S, &uploads_dlq.arn), &mut changes)
            .await?;
    allow_redrive(&sqs, &uploads_dlq, &uploads.arn, &mut changes).await?;
    let stream_failures = ensure_queue(&sqs, &names.stream_failures_queue, dlq_attributes(), &mut changes).await?;

    // The queue policy must be in place before S3 validates the notification's destination.
    let account = uploads.arn.split(':').nth(4).unwrap_or_default().to_string();
    let policy = uploads_queue_policy(&uploads.arn, &names.bucket, &account);
    set_if_different(&sqs, &uploads, HashMap::from([(Qa::Policy, policy)]), &mut changes).await?;

    // Path-style addressing on custom endpoints: `bucket.127.0.0.1` does not resolve.
    let force_path = cfg.endpoint_url().is_some() || super::custom_endpoint();
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(cfg).force_path_style(force_path).build());
    ensure_bucket(&s3, &names.bucket, &region, &mut changes).await?;
    ensure_notification(&s3, &names.bucket, &uploads.arn, &mut changes).await?;

    Ok(Bootstrapped {
        region,
        table: names.table.clone(),
        table_arn,
        stream_arn,
        bucket: names.bucket.clone(),
        orders,
        orders_dlq,
        uploads,
        uploads_dlq,
        stream_failures,
        changes,
    })
}

// ---------------------------------------------------------------------------------------------
// The table

/// The table (`order_id` S hash key, on-demand, NEW_AND_OLD_IMAGES stream, PITR), ACTIVE.
/// Returns its ARN and its stream's ARN.
async fn ensure_table(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    changes: &mut Vec<String>,
) -> anyhow::Result<(String, String)> {
    let existing = match ddb.describe_table().table_name(table).send().await {
        Ok(out) => out.table().cloned(),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => None,
        Err(e) => return Err(anyhow!(super::describe(&e))).with_context(|| format!("describing table {table}")),
    };
    match existing {
        None => {
            ddb.create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(crate::store::item::KEY)
                        .attribute_type(ScalarAttributeType::S)
                        .build()?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(crate::store::item::KEY)
                        .key_type(KeyType::Hash)
                        .build()?,
                )
                .stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewAndOldImages)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| anyhow!(super::describe(&e)))
                .with_context(|| format!("creating table {table}"))?;
            changes.push(format!("created table {table}"));
        }
        Some(t) => {
            let key_ok = t.key_schema().len() == 1
                && t.key_schema()[0].attribute_name() == crate::store::item::KEY
                && t.key_schema()[0].key_type() == &KeyType::Hash;
            if !key_ok {
                bail!("table {table} exists with another key schema than `{}` (S, hash)", crate::store::item::KEY);
            }
            let spec = t.stream_specification();
            match (spec.map(|s| s.stream_enabled()).unwrap_or(false), spec.and_then(|s| s.stream_view_type())) {
                (true, Some(StreamViewType::NewAndOldImages)) => {}
                (true, other) => bail!(
                    "table {table} has a stream of view type {other:?}; the stream consumer needs \
                     NEW_AND_OLD_IMAGES (disable the stream, then run bootstrap again)"
                ),
                (false, _) => {
                    wait_active(ddb, table).await?;
                    ddb.update_table()
                        .table_name(table)
                        .stream_specification(
                            StreamSpecification::builder()
                                .stream_enabled(true)
                                .stream_view_type(StreamViewType::NewAndOldImages)
                                .build()?,
                        )
                        .send()
                        .await
                        .map_err(|e| anyhow!(super::describe(&e)))
                        .with_context(|| format!("enabling the stream of table {table}"))?;
                    changes.push(format!("enabled the NEW_AND_OLD_IMAGES stream of table {table}"));
                }
            }
        }
    }
    let t = wait_active(ddb, table).await?;
    ensure_pitr(ddb, table, changes).await?;
    let table_arn = t.table_arn().unwrap_or_default().to_string();
    let stream_arn = t
        .latest_stream_arn()
        .ok_or_else(|| anyhow!("table {table} reports no stream ARN after enabling its stream"))?
        .to_string();
    Ok((table_arn, stream_arn))
}

/// Polls DescribeTable until the table is ACTIVE.
async fn wait_active(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> anyhow::Result<aws_sdk_dynamodb::types::TableDescription> {
    let started = std::time::Instant::now();
    loop {
        let out = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| anyhow!(super::describe(&e)))
            .with_context(|| format!("describing table {table}"))?;
        if let Some(t) = out.table() {
            if t.table_status() == Some(&TableStatus::Active) {
                return Ok(t.clone());
            }
        }
        if started.elapsed() > TABLE_ACTIVE_TIMEOUT {
            bail!("table {table} is not ACTIVE after {TABLE_ACTIVE_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Point-in-time recovery, as `infra/dynamodb.tf` enables it.
async fn ensure_pitr(ddb: &aws_sdk_dynamodb::Client, table: &str, changes: &mut Vec<String>) -> anyhow::Result<()> {
    let out = ddb
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .map_err(|e| anyhow!(super::describe(&e)))
        .with_context(|| format!("describing the backups of table {table}"))?;
    let enabled = out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        == Some(&PointInTimeRecoveryStatus::Enabled);
    if !enabled {
        ddb.update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(true).build()?,
            )
            .send()
            .await
            .map_err(|e| anyhow!(super::describe(&e)))
            .with_context(|| format!("enabling point-in-time recovery on table {table}"))?;
        changes.push(format!("enabled point-in-time recovery on table {table}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The queues

fn dlq_attributes() -> HashMap<Qa, String> {
    HashMap::from([
        (Qa::MessageRetentionPeriod, DLQ_RETENTION_S.to_string()),
        (Qa::SqsManagedSseEnabled, "true".to_string()),
    ])
}

/// A consumer's queue: visibility 6 × the function timeout + the batching window (so a message
/// is never redelivered while a retried invocation may still hold it), redrive to its DLQ.
fn work_attributes(function_timeout_s: u64, dlq_arn: &str) -> HashMap<Qa, String> {
    HashMap::from([
        (Qa::VisibilityTimeout, (6 * function_timeout_s + config::BATCH_WINDOW_S).to_string()),
        (Qa::MessageRetentionPeriod, WORK_RETENTION_S.to_string()),
        (Qa::SqsManagedSseEnabled, "true".to_string()),
        (
            Qa::RedrivePolicy,
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": config::MAX_RECEIVE_COUNT }).to_string(),
        ),
    ])
}

/// Only the bucket, in this account, may send to the uploads queue (as `infra/sqs.tf`).
fn uploads_queue_policy(queue_arn: &str, bucket: &str, account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "S3BucketNotifications",
            "Effect": "Allow",
            "Principal": { "Service": "s3.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": { "aws:SourceArn": format!("arn:aws:s3:::{bucket}") },
                "StringEquals": { "aws:SourceAccount": account },
            },
        }],
    })
    .to_string()
}

/// The queue, created with `attributes` or corrected to them.
async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<Qa, String>,
    changes: &mut Vec<String>,
) -> anyhow::Result<QueueInfo> {
    let existing = match sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => out.queue_url().map(str::to_string),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_queue_does_not_exist()) => None,
        Err(e) => return Err(anyhow!(super::describe(&e))).with_context(|| format!("looking up queue {name}")),
    };
    let url = match existing {
        Some(url) => url,
        None => {
            let out = sqs
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes.clone()))
                .send()
                .await
                .map_err(|e| anyhow!(super::describe(&e)))
                .with_context(|| format!("creating queue {name}"))?;
            changes.push(format!("created queue {name}"));
            out.queue_url().ok_or_else(|| anyhow!("CreateQueue returned no URL for {name}"))?.to_string()
        }
    };
    let mut q = QueueInfo { name: name.to_string(), url, arn: String::new() };
    q.arn = set_if_different(sqs, &q, attributes, changes).await?;
    Ok(q)
}

/// The DLQ accepts redrives from its source queue only.
async fn allow_redrive(
    sqs: &aws_sdk_sqs::Client,
    dlq: &QueueInfo,
    source_arn: &str,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let policy = json!({ "redrivePermission": "byQueue", "sourceQueueArns": [source_arn] }).to_string();
    set_if_different(sqs, dlq, HashMap::from([(Qa::RedriveAllowPolicy, policy)]), changes).await?;
    Ok(())
}

/// Sets the attributes whose current value differs (JSON values compared as JSON, numbers in
/// them as text, since SQS may hand back `"5"` for `5`); returns the queue's ARN.
async fn set_if_different(
    sqs: &aws_sdk_sqs::Client,
    q: &QueueInfo,
    wanted: HashMap<Qa, String>,
    changes: &mut Vec<String>,
) -> anyhow::Result<String> {
    let current = queue_attributes(sqs, q).await?;
    let differing: HashMap<Qa, String> =
        wanted.into_iter().filter(|(k, v)| !same_attribute(current.get(k).map(String::as_str), v)).collect();
    if !differing.is_empty() {
        let mut which: Vec<&str> = differing.keys().map(|k| k.as_str()).collect();
        which.sort_unstable();
        let which = which.join(", ");
        sqs.set_queue_attributes()
            .queue_url(&q.url)
            .set_attributes(Some(differing.clone()))
            .send()
            .await
            .map_err(|e| anyhow!(super::describe(&e)))
            .with_context(|| format!("setting {which} on queue {}", q.name))?;
        // Some servers accept an attribute and never report it (moto 5.2.5 drops
        // RedriveAllowPolicy): setting it again on every run is harmless, but it is no change
        // to report, or a second run would never look clean.
        let after = queue_attributes(sqs, q).await?;
        let (mut kept, dropped): (Vec<&str>, Vec<&str>) =
            differing.keys().map(|k| k.as_str()).partition(|k| after.contains_key(&Qa::from(*k)));
        if !dropped.is_empty() {
            tracing::debug!(queue = %q.name, ?dropped, "the server accepted but does not report these attributes");
        }
        if !kept.is_empty() {
            kept.sort_unstable();
            changes.push(format!("set {} on queue {}", kept.join(", "), q.name));
        }
    }
    current.get(&Qa::QueueArn).cloned().ok_or_else(|| anyhow!("queue {} reports no QueueArn", q.name))
}

async fn queue_attributes(sqs: &aws_sdk_sqs::Client, q: &QueueInfo) -> anyhow::Result<HashMap<Qa, String>> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(&q.url)
        .attribute_names(Qa::All)
        .send()
        .await
        .map_err(|e| anyhow!(super::describe(&e)))
        .with_context(|| format!("reading the attributes of queue {}", q.name))?;
    Ok(out.attributes().cloned().unwrap_or_default())
}

fn same_attribute(current: Option<&str>, wanted: &str) -> bool {
    let Some(current) = current else { return false };
    if current == wanted {
        return true;
    }
    match (serde_json::from_str::<Value>(current), serde_json::from_str::<Value>(wanted)) {
        (Ok(a), Ok(b)) if a.is_object() => normalize(a) == normalize(b),
        _ => false,
    }
}

/// JSON with numbers as strings and one-element arrays as their element (IAM accepts either).
fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(a) if a.len() == 1 => normalize(a.into_iter().next().expect("one element")),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// The bucket

/// The bucket, private and versioned (as `infra/s3.tf`).
async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let exists = match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
        Err(e) => {
            return Err(anyhow!(super::describe(&e)))
                .with_context(|| format!("looking up bucket {bucket} (it may belong to another account)"))
        }
    };
    if !exists {
        let mut req = s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region that refuses an explicit location constraint.
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => changes.push(format!("created bucket {bucket}")),
            // Created between our look and our create (a concurrent bootstrap): fine.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
            Err(e) => return Err(anyhow!(super::describe(&e))).with_context(|| format!("creating bucket {bucket}")),
        }
    }

    let blocked = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        // NoSuchPublicAccessBlockConfiguration: none set yet.
        Err(_) => false,
    };
    if !blocked {
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .block_public_policy(true)
                    .ignore_public_acls(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| anyhow!(super::describe(&e)))
            .with_context(|| format!("blocking public access to bucket {bucket}"))?;
        changes.push(format!("blocked public access to bucket {bucket}"));
    }

    let versioned = match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => out.status() == Some(&BucketVersioningStatus::Enabled),
        // moto names the response's root `GetBucketVersioningResponse`, which the SDK refuses
        // to parse (a 200 without an error code): read the status from the raw body instead.
        Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => e
            .raw_response()
            .and_then(|r| r.body().bytes())
            .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
        Err(e) => {
            return Err(anyhow!(super::describe(&e)))
                .with_context(|| format!("reading the versioning of bucket {bucket}"))
        }
    };
    if !versioned {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .map_err(|e| anyhow!(super::describe(&e)))
            .with_context(|| format!("enabling versioning on bucket {bucket}"))?;
        changes.push(format!("enabled versioning on bucket {bucket}"));
    }
    Ok(())
}

/// s3:ObjectCreated:* under IMPORT_PREFIX to the uploads queue. Like infra's
/// `aws_s3_bucket_notification`, this owns the bucket's whole notification configuration; it is
/// only written when it differs, since every write makes S3 send an `s3:TestEvent`.
async fn ensure_notification(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    queue_arn: &str,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let current = match s3.get_bucket_notification_configuration().bucket(bucket).send().await {
        Ok(out) => Some(out),
        // moto answers a bucket without notifications with an empty
        // `GetBucketNotificationResponse` root the SDK cannot parse: there are none.
        Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => None,
        Err(e) => {
            return Err(anyhow!(super::describe(&e)))
                .with_context(|| format!("reading the notifications of bucket {bucket}"))
        }
    };
    let in_place = current.is_some_and(|current| {
        current.queue_configurations().len() == 1
            && current.topic_configurations().is_empty()
            && current.lambda_function_configurations().is_empty()
            && current.queue_configurations().iter().all(|q| {
                let prefix = q
                    .filter()
                    .and_then(|f| f.key())
                    .map(|k| k.filter_rules())
                    .unwrap_or_default()
                    .iter()
                    .map(|r| (r.name().map(|n| n.as_str().to_ascii_lowercase()), r.value()))
                    .collect::<Vec<_>>();
                q.queue_arn() == queue_arn
                    && q.events() == [Event::from("s3:ObjectCreated:*")]
                    && prefix == [(Some("prefix".to_string()), Some(config::IMPORT_PREFIX))]
            })
    });
    if in_place {
        return Ok(());
    }
    let rule = FilterRule::builder().name(FilterRuleName::Prefix).value(config::IMPORT_PREFIX).build();
    let queue = QueueConfiguration::builder()
        .id("orderflow-import")
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().filter_rules(rule).build()).build(),
        )
        .build()?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(queue).build())
        .send()
        .await
        .map_err(|e| anyhow!(super::describe(&e)))
        .with_context(|| format!("setting the import notification of bucket {bucket}"))?;
    changes.push(format!("set the {}* notification of bucket {bucket} to {queue_arn}", config::IMPORT_PREFIX));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_attributes_compare_by_meaning_not_by_text() {
        assert!(same_attribute(
            Some(r#"{"maxReceiveCount":"5","deadLetterTargetArn":"arn:x"}"#),
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":5}"#
        ));
        assert!(!same_attribute(Some(r#"{"maxReceiveCount":"4"}"#), r#"{"maxReceiveCount":5}"#));
        assert!(!same_attribute(None, "30"));
        assert!(same_attribute(Some("185"), "185"));
    }

    #[test]
    fn exports_are_one_shell_word_each() {
        assert_eq!(
            shell_quote("http://127.0.0.1:5917/123456789012/orderflow-orders"),
            "http://127.0.0.1:5917/123456789012/orderflow-orders"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
