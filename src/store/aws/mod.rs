//! The AWS adapters: DynamoDB (conditional writes for idempotency), S3 (streaming GetObject,
//! PutObject) and SQS (SendMessageBatch). Clients come from the SDK's own configuration chain
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles), built once per process.

mod bootstrap;
mod dynamodb;
mod s3;
mod sources;
mod sqs;

pub use bootstrap::*;
pub use dynamodb::{from_sdk_item, to_sdk_item, DynamoStore};
pub use s3::S3Objects;
pub use sources::*;
pub(crate) use sqs::message_group_for;
pub use sqs::{queue_url, SqsQueue};

use crate::config::Config;
use aws_config::BehaviorVersion;
use std::sync::Arc;

/// The SDK configuration from the environment.
pub(crate) async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Whether a custom endpoint is configured (moto, LocalStack): S3 then needs path-style URLs.
pub(crate) fn custom_endpoint() -> bool {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"].iter().any(|v| std::env::var(v).map(|s| !s.is_empty()).unwrap_or(false))
}

/// The three clients (DynamoDB, S3, SQS) and the resources they reach, built once per process.
#[derive(Clone)]
pub struct AwsAdapters {
    pub store: Arc<DynamoStore>,
    pub objects: Arc<S3Objects>,
    pub orders_queue: Arc<SqsQueue>,
    /// The uploads queue, when the environment gives its URL (`orderflow-s3` continues imports
    /// through it).
    pub uploads_queue: Option<Arc<SqsQueue>>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl AwsAdapters {
    /// The clients of `sdk`, over the resources `config` names.
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> AwsAdapters {
        let cfg = sdk;
        let dynamodb = aws_sdk_dynamodb::Client::new(cfg);
        let s3_conf = aws_sdk_s3::config::Builder::from(cfg).force_path_style(custom_endpoint()).build();
        let s3 = aws_sdk_s3::Client::from_conf(s3_conf);
        let sqs = aws_sdk_sqs::Client::new(cfg);
        let table = config.table.clone();
        // The functions are given the URL; without it, handing orders on is a transient failure.
        let queue_url = config.orders_queue.url.clone().unwrap_or_default();
        AwsAdapters {
            store: Arc::new(DynamoStore::new(dynamodb.clone(), table)),
            objects: Arc::new(S3Objects::new(s3.clone())),
            orders_queue: Arc::new(SqsQueue::new(sqs.clone(), queue_url)),
            uploads_queue: config.uploads_queue.url.clone().map(|url| Arc::new(SqsQueue::new(sqs.clone(), url))),
            dynamodb,
            s3,
            sqs,
        }
    }
}

/// Splits SDK failures into transient (retry) and permanent (reject) by error code and kind.
pub(crate) fn is_transient<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    use aws_sdk_dynamodb::error::SdkError;
    match err {
        SdkError::ConstructionFailure(_) => false,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(e) => !matches!(
            e.err().code(),
            Some(
                "ValidationException"
                    | "ItemCollectionSizeLimitExceededException"
                    | "ResourceNotFoundException"
                    | "AccessDeniedException"
                    | "InvalidParameterValue"
                    | "InvalidMessageContents"
            )
        ),
        _ => true,
    }
}

pub(crate) fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(
    err: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(err).to_string()
}
