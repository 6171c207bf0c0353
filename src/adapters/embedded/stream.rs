//! The embedded change stream as Lambda DynamoDB stream events (NEW_AND_OLD_IMAGES shape).

use super::Change;
use aws_lambda_events::event::dynamodb::Event;
use serde_json::json;

/// Sequence numbers as DynamoDB streams write them: decimal strings of a fixed width, so that
/// they sort as text the way they sort as numbers.
pub fn sequence_number(seq: i64) -> String {
    format!("{seq:021}")
}

/// The ARN of the embedded table's stream.
pub fn stream_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:local:000000000000:table/{table}/stream/embedded")
}

/// A stream event for a batch of changes of the embedded table `table`.
pub fn event(table: &str, changes: &[Change]) -> Event {
    let records: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            let mut d = json!({
                "ApproximateCreationDateTime": c.created_ms / 1000,
                "Keys": { "order_id": { "S": c.order_id } },
                "SequenceNumber": sequence_number(c.seq),
                "SizeBytes": c.new_image.as_ref().or(c.old_image.as_ref()).map(|i| serde_json::to_string(i).map(|s| s.len()).unwrap_or(0)).unwrap_or(0),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(n) = &c.new_image {
                d["NewImage"] = serde_json::to_value(n).expect("an item serializes");
            }
            if let Some(o) = &c.old_image {
                d["OldImage"] = serde_json::to_value(o).expect("an item serializes");
            }
            json!({
                "eventID": format!("{:032x}", c.seq),
                "eventName": c.event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "local",
                "dynamodb": d,
                "eventSourceARN": stream_arn(table),
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("the embedded stream event has Lambda's shape")
}
