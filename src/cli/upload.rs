//! `orderflow upload FILE [--key KEY]`: puts a file into the bucket. On the embedded default it
//! also puts the S3 event notification on the embedded uploads queue, exactly as S3 does into
//! SQS for keys under `incoming/`; with `--aws` the bucket's notification configuration does it.

use super::Target;
use crate::config::{Config, IMPORT_PREFIX};
use crate::store::embedded::{Embedded, UPLOAD_TEMP_PREFIX};
use crate::store::OrderQueue;
use anyhow::Context as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The file to upload (.jsonl, .ndjson, .csv, optionally .gz).
    file: std::path::PathBuf,
    /// The object key (default: incoming/<file name>).
    #[arg(long)]
    key: Option<String>,
    #[command(flatten)]
    target: Target,
}

/// Characters S3 leaves as they are in a notification's key; a space becomes `+`.
const KEY_KEEP: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/').remove(b'*');

/// A key as S3 writes it into event notifications (URL form encoding).
pub(crate) fn notification_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_KEEP).to_string().replace("%20", "+")
}

/// The S3 event notification for one created object, as S3 sends it to a queue.
pub(crate) fn notification(bucket: &str, key: &str, size: u64, etag: &str) -> serde_json::Value {
    let now = crate::core::processing::now_rfc3339();
    json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "local",
        "eventTime": now,
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "orderflow-local" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": uuid::Uuid::new_v4().simple().to_string(), "x-amz-id-2": "orderflow-local" },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "orderflow-incoming",
            "bucket": { "name": bucket, "ownerIdentity": { "principalId": "orderflow-local" }, "arn": format!("arn:aws:s3:::{bucket}") },
            "object": { "key": notification_key(key), "size": size, "eTag": etag, "sequencer": format!("{:016X}", chrono::Utc::now().timestamp_micros()) }
        }
    }]})
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let key = match &a.key {
        Some(k) => k.clone(),
        None => {
            let name = a.file.file_name().context("the file has no name")?.to_string_lossy();
            format!("{IMPORT_PREFIX}{name}")
        }
    };
    if !crate::store::embedded::key_stays_inside(&key) {
        anyhow::bail!(
            "the key {key:?} would leave the bucket: use a relative key without `..`, a NUL or a backslash (e.g. {IMPORT_PREFIX}orders.jsonl)"
        );
    }
    let config = Config::from_env();
    let bucket = config.bucket.clone();
    let size = std::fs::metadata(&a.file).with_context(|| format!("reading {}", a.file.display()))?.len();
    if a.target.aws {
        let aws = crate::wiring::aws(&config).await;
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&a.file)
            .await
            .with_context(|| format!("reading {}", a.file.display()))?;
        aws.s3.put_object().bucket(&bucket).key(&key).body(body).send().await.map_err(|e| {
            anyhow::anyhow!(
                "PutObject s3://{bucket}/{key}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(e)
            )
        })?;
    } else {
        let e = Embedded::open(&a.target.data.data_dir)?;
        let etag = copy_into(&e, &a.file, &bucket, &key)?;
        if key.starts_with(IMPORT_PREFIX) {
            e.uploads_queue.send_all(vec![notification(&bucket, &key, size, &etag).to_string()]).await?;
        }
    }
    eprintln!("uploaded {} ({size} bytes) to s3://{bucket}/{key}", a.file.display());
    if !key.starts_with(IMPORT_PREFIX) {
        eprintln!("note: the key is outside {IMPORT_PREFIX}: the bucket notifies only for {IMPORT_PREFIX}, so it will not be imported");
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies the file into the bucket folder (write, then rename: never half an object; through
/// no symlink) and returns an ETag-like content hash.
fn copy_into(e: &Embedded, file: &Path, bucket: &str, key: &str) -> anyhow::Result<String> {
    let mut src = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    if let Some(cutoff) = std::time::SystemTime::now().checked_sub(STALE_TEMP) {
        e.bucket.remove_stale(bucket, key, UPLOAD_TEMP_PREFIX, cutoff);
    }
    let temp = format!("{UPLOAD_TEMP_PREFIX}{}", uuid::Uuid::new_v4());
    let md5 = e
        .bucket
        .write(bucket, key, &temp, |out| {
            let mut hasher = HashingWriter { out, md5: <md5::Md5 as md5::Digest>::new() };
            std::io::copy(&mut src, &mut hasher)?;
            Ok(hasher.md5)
        })
        .map_err(|err| anyhow::anyhow!("writing s3://{bucket}/{key} from {}: {err}", file.display()))?;
    Ok(format!("{:x}", md5::Digest::finalize(md5)))
}

/// A temporary file older than this in the key's folder was left by a killed upload.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

struct HashingWriter<'a> {
    out: &'a mut std::fs::File,
    md5: md5::Md5,
}

impl std::io::Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        md5::Digest::update(&mut self.md5, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_keys_are_url_encoded_the_way_s3_does_it() {
        assert_eq!(notification_key("incoming/my orders+1.csv"), "incoming/my+orders%2B1.csv");
        assert_eq!(
            crate::ingest::s3::decode_key(&notification_key("incoming/a b+c=d.jsonl")),
            "incoming/a b+c=d.jsonl"
        );
    }
}
