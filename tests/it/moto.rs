//! Shared helpers for the tests against `moto_server` (started by `scripts/test.sh`; its address
//! in `ORDERFLOW_TEST_MOTO_ENDPOINT`): an SDK configuration pointing at it and unique names, so
//! tests running in parallel never share a resource.

pub fn endpoint() -> String {
    std::env::var("ORDERFLOW_TEST_MOTO_ENDPOINT")
        .expect("ORDERFLOW_TEST_MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto_server")
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// `prefix-` and 12 random hex digits: valid as a table, queue and (lower-case) bucket name.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A full set of resource names no other test uses.
pub fn names() -> orderflow::store::aws::Names {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
    orderflow::store::aws::Names {
        table: format!("of-orders-{id}"),
        bucket: format!("of-uploads-{id}"),
        orders_queue: format!("of-orders-{id}"),
        uploads_queue: format!("of-uploads-{id}"),
        stream_failures_queue: format!("of-stream-failures-{id}"),
    }
}

/// An orders table as infra/ makes it (key `order_id`, on-demand, a NEW_AND_OLD_IMAGES stream).
pub async fn create_orders_table(ddb: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
        StreamViewType,
    };
    let key = AttributeDefinition::builder()
        .attribute_name("order_id")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition");
    let stream = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .expect("stream specification");
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(key)
        .key_schema(KeySchemaElement::builder().attribute_name("order_id").key_type(KeyType::Hash).build().unwrap())
        .stream_specification(stream)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("create table {name} on moto: {}", aws_smithy_types::error::display::DisplayErrorContext(&e))
        });
}
