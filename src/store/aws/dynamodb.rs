//! The orders table on DynamoDB. Idempotency is a conditional write: `attribute_not_exists`
//! on put, `status = PENDING` on the stream channel's in-place update.

use super::{describe, is_transient};
use crate::order::{Completion, OrderId, PendingOrder, StoredOrder};
use crate::store::item::{self, Item};
use crate::store::*;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue as Sdk, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use serde_dynamo::AttributeValue as Av;
use std::collections::HashMap;

pub struct DynamoStore {
    client: Client,
    table: String,
    /// Conditional writes a batch keeps in flight (`ORDERFLOW_WRITE_CONCURRENCY`).
    window: usize,
}

/// Our item as the SDK's attribute map. `N` stays the exact decimal text.
pub fn to_sdk_item(item: &Item) -> HashMap<String, Sdk> {
    item.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()
}

fn to_sdk(v: &Av) -> Sdk {
    match v {
        Av::N(n) => Sdk::N(n.clone()),
        Av::S(s) => Sdk::S(s.clone()),
        Av::Bool(b) => Sdk::Bool(*b),
        Av::B(b) => Sdk::B(aws_sdk_dynamodb::primitives::Blob::new(b.clone())),
        Av::Null(b) => Sdk::Null(*b),
        Av::M(m) => Sdk::M(m.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()),
        Av::L(l) => Sdk::L(l.iter().map(to_sdk).collect()),
        Av::Ss(s) => Sdk::Ss(s.clone()),
        Av::Ns(s) => Sdk::Ns(s.clone()),
        Av::Bs(s) => Sdk::Bs(s.iter().map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.clone())).collect()),
    }
}

pub fn from_sdk_item(item: &HashMap<String, Sdk>) -> Item {
    item.iter().map(|(k, v)| (k.clone(), from_sdk(v))).collect()
}

fn from_sdk(v: &Sdk) -> Av {
    match v {
        Sdk::N(n) => Av::N(n.clone()),
        Sdk::S(s) => Av::S(s.clone()),
        Sdk::Bool(b) => Av::Bool(*b),
        Sdk::B(b) => Av::B(b.as_ref().to_vec()),
        Sdk::Null(b) => Av::Null(*b),
        Sdk::M(m) => Av::M(m.iter().map(|(k, v)| (k.clone(), from_sdk(v))).collect()),
        Sdk::L(l) => Av::L(l.iter().map(from_sdk).collect()),
        Sdk::Ss(s) => Av::Ss(s.clone()),
        Sdk::Ns(s) => Av::Ns(s.clone()),
        Sdk::Bs(s) => Av::Bs(s.iter().map(|b| b.as_ref().to_vec()).collect()),
        _ => Av::Null(true),
    }
}

fn store_error<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if is_transient(e) {
        StoreError::Transient(describe(e))
    } else {
        StoreError::Permanent(describe(e))
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: String) -> DynamoStore {
        DynamoStore { client, table, window: crate::config::write_concurrency() }
    }

    /// The same store with another write window.
    pub fn with_write_window(mut self, window: usize) -> DynamoStore {
        self.window = window.max(1);
        self
    }

    /// A conditional put; on a conflict, what is stored already (from the failed condition when
    /// the service returns it, else a consistent read).
    async fn put_if_absent(&self, key: &str, it: HashMap<String, Sdk>) -> Result<PutOutcome, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(order_id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(PutOutcome::Inserted),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                    if let Some(old) = c.item() {
                        return Ok(item::exists(&from_sdk_item(old)));
                    }
                    match self.get(key).await? {
                        Some(old) => Ok(item::exists(&old)),
                        // Deleted between the two calls: let the source retry.
                        None => Err(StoreError::Transient(format!("order {key} changed during the conditional write"))),
                    }
                }
                _ => Err(store_error(&e)),
            },
        }
    }

    /// Reads one item (tests, `orders`).
    pub async fn get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY, Sdk::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&e))?;
        Ok(got.item().map(from_sdk_item))
    }
}

/// Batches go through the port's default: each record one conditional write (idempotency and
/// conflicts stay exact: BatchWriteItem takes no conditions), `window` of them in flight, one
/// key at a time in batch order. Throttling is retried by the SDK with backoff before it
/// becomes a Retry.
#[async_trait]
impl OrderStore for DynamoStore {
    fn write_window(&self) -> usize {
        self.window
    }

    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        self.put_if_absent(&order.key(), to_sdk_item(&item::to_item(order))).await
    }

    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_sdk_item(&item::to_item(rejection))))
            .condition_expression("attribute_not_exists(order_id)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            // The first rejection of a source id stands; a redelivery writes nothing.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn complete_pending(
        &self,
        key: &str,
        c: &Completion,
        _image_if_absent: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        let mut set = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        for (i, (name, value)) in item::completion_attributes(c).into_iter().enumerate() {
            set.push(format!("#a{i} = :v{i}"));
            names.insert(format!("#a{i}"), name.to_string());
            values.insert(format!(":v{i}"), to_sdk(&value));
        }
        names.insert("#status".to_string(), "status".to_string());
        values.insert(":pending".to_string(), Sdk::S("PENDING".to_string()));
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::KEY, Sdk::S(key.to_string()))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression("#status = :pending")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match res {
            Ok(_) => Ok(CompleteOutcome::Completed),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Ok(CompleteOutcome::NotPending)
                }
                _ => Err(store_error(&e)),
            },
        }
    }

    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        self.put_if_absent(pending.key(), to_sdk_item(&item::pending_row(pending))).await
    }

    async fn get_order(&self, order_id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("order_id", Sdk::S(order_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&e))?;
        Ok(got.item().map(|i| item::from_item(&from_sdk_item(i))))
    }

    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, Sdk>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error(&e))?;
            out.extend(page.items().iter().map(|i| item::from_item(&from_sdk_item(i))));
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}
