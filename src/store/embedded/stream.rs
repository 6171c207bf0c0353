//! The embedded change stream as Lambda DynamoDB stream events (NEW_AND_OLD_IMAGES shape),
//! built field by field (the same records Lambda's JSON would give; no JSON round trip).

use super::Change;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};
use serde_dynamo::AttributeValue;

/// Sequence numbers as DynamoDB streams write them: decimal strings of a fixed width, so that
/// they sort as text the way they sort as numbers.
pub fn sequence_number(seq: i64) -> String {
    format!("{seq:021}")
}

/// The ARN of the embedded table's stream.
pub(crate) fn stream_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:local:000000000000:table/{table}/stream/embedded")
}

/// A stream event for a batch of changes of the embedded table `table`.
pub fn event(table: &str, changes: &[Change]) -> Event {
    let arn = stream_arn(table);
    let mut e = Event::default();
    e.records = changes
        .iter()
        .map(|c| {
            let size = c.new_image.as_ref().or(c.old_image.as_ref()).map_or(0, json_len);
            record(&arn, c.clone(), size)
        })
        .collect();
    e
}

/// One stream record of the stream `arn`; `size_bytes` is the size of its (new, else old) image.
pub(super) fn record(arn: &str, c: Change, size_bytes: usize) -> EventRecord {
    let mut d = StreamRecord::default();
    d.approximate_creation_date_time = chrono::DateTime::from_timestamp(c.created_ms / 1000, 0).unwrap_or_default();
    d.keys = std::collections::HashMap::from([("order_id".to_string(), AttributeValue::S(c.order_id))]).into();
    d.new_image = c.new_image.unwrap_or_default().into();
    d.old_image = c.old_image.unwrap_or_default().into();
    d.sequence_number = Some(sequence_number(c.seq));
    d.size_bytes = size_bytes as i64;
    d.stream_view_type = Some(StreamViewType::NewAndOldImages);
    let mut r = EventRecord::default();
    r.aws_region = "local".to_string();
    r.change = d;
    r.event_id = format!("{:032x}", c.seq);
    r.event_name = c.event_name;
    r.event_source = Some("aws:dynamodb".to_string());
    r.event_version = Some("1.1".to_string());
    r.event_source_arn = Some(arn.to_string());
    r
}

/// The length of an item's DynamoDB JSON, counted without writing it anywhere.
fn json_len(item: &crate::store::item::Item) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    serde_json::to_writer(&mut n, item).map_or(0, |()| n.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_built_field_by_field_is_the_record_lambdas_json_gives() {
        let image: crate::store::item::Item = serde_json::from_str(
            r#"{"order_id":{"S":"o-1"},"status":{"S":"PENDING"},"items":{"L":[{"M":{"quantity":{"N":"2"}}}]}}"#,
        )
        .unwrap();
        let change = Change {
            seq: 42,
            event_name: "MODIFY".into(),
            order_id: "o-1".into(),
            old_image: Some(image.clone()),
            new_image: Some(image.clone()),
            created_ms: 1_795_687_200_123,
        };
        let json = serde_json::json!({ "Records": [{
            "eventID": format!("{:032x}", 42),
            "eventName": "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "local",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_795_687_200,
                "Keys": { "order_id": { "S": "o-1" } },
                "SequenceNumber": sequence_number(42),
                "SizeBytes": serde_json::to_string(&image).unwrap().len(),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "NewImage": image,
                "OldImage": image,
            },
            "eventSourceARN": stream_arn("t"),
        }]});
        let expected: Event = serde_json::from_value(json).unwrap();
        assert_eq!(event("t", &[change]), expected);
    }
}
