//! The bucket on S3: GetObject streamed (never buffered whole), PutObject for reports.

use crate::store::{ObjectError, ObjectReader, ObjectStore, OpenObject};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

pub struct S3Objects {
    client: Client,
}

impl S3Objects {
    pub fn new(client: Client) -> S3Objects {
        S3Objects { client }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        Ok(self.open(bucket, key).await?.reader)
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<OpenObject, ObjectError> {
        match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let version = out.e_tag.clone();
                Ok(OpenObject { reader: Box::new(out.body.into_async_read()), version })
            }
            Err(e) => {
                if let Some(aws_sdk_s3::operation::get_object::GetObjectError::NoSuchKey(_)) = e.as_service_error() {
                    return Err(ObjectError::NotFound { bucket: bucket.into(), key: key.into() });
                }
                if e.raw_response().map(|r| r.status().as_u16()) == Some(404) {
                    return Err(ObjectError::NotFound { bucket: bucket.into(), key: key.into() });
                }
                Err(ObjectError::Transient(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()))
            }
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                ObjectError::Transient(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
            })?;
        Ok(())
    }
}
