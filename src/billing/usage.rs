//! What one invocation of our functions used of SQS, S3 and DynamoDB, estimated from its counts
//! and from which of our functions it was: one table of the functions by name, no guessing from
//! parts of a name.

use crate::order::Counts;
use crate::pricing::ServiceUsage;

/// The ingestion channel a function serves: what its invocations do around Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Sqs,
    S3,
    Stream,
    Http,
}

/// Our functions, by the name of their binary. A deployment names each
/// `<name_prefix><binary name>` (infra/main.tf; `name_prefix` is at most 20 of `[a-z0-9-]`).
pub(crate) const FUNCTIONS: [(&str, Channel); 4] = [
    ("orderflow-sqs", Channel::Sqs),
    ("orderflow-s3", Channel::S3),
    ("orderflow-stream", Channel::Stream),
    ("orderflow-http", Channel::Http),
];

/// The longest `name_prefix` infra/variables.tf allows.
const MAX_NAME_PREFIX: usize = 20;

/// Which of our functions `function` (the EMF line's `FunctionName`) is: a binary's name, with or
/// without a deployment's name prefix. `None` for anything else (other functions, a REPORT line
/// whose function is unknown): no services are counted for those.
pub(crate) fn channel_of(function: &str) -> Option<Channel> {
    FUNCTIONS.iter().find_map(|(name, channel)| {
        let prefix = function.strip_suffix(name)?;
        let is_prefix = prefix.len() <= MAX_NAME_PREFIX
            && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        is_prefix.then_some(*channel)
    })
}

/// What one invocation used of SQS, S3 and DynamoDB (the EMF line has no payload sizes: messages
/// are taken as ≤ 64 KiB, `chunk_reqs` requests each, and items as ≤ 1 KB):
/// - SQS (`orderflow-sqs`): each record was one SendMessage by its producer; the event source
///   mapping receives and deletes in batches of up to 10; each accepted, duplicate or rejected
///   record is one conditional PutItem (1 WRU — a failed condition consumes it too).
/// - S3 (`orderflow-s3`): one GET of the object and one PUT of its import report; one
///   conditional PutItem per order as above.
/// - Stream (`orderflow-stream`): the client's PutItem of the PENDING row and our conditional
///   UpdateItem (duplicates only the former); Lambda's reads of the stream are free.
/// - HTTP (`orderflow-http`): one API Gateway request per invocation (whatever the route: the
///   EMF line does not name it, so `GET /orders/{id}`'s one read unit is not counted); each
///   order is one conditional PutItem, and a duplicate one strongly consistent GetItem more
///   (1 RRU) to answer with the stored order.
pub(crate) fn service_usage(channel: Option<Channel>, r: &Counts, chunk_reqs: u64) -> ServiceUsage {
    let written = r.accepted + r.duplicates + r.rejected;
    match channel {
        Some(Channel::Sqs) => {
            let batches = r.records.div_ceil(10);
            ServiceUsage {
                sqs_requests: r.records * chunk_reqs + 2 * batches,
                dynamodb_wru: written,
                ..Default::default()
            }
        }
        Some(Channel::S3) => ServiceUsage { s3_gets: 1, s3_puts: 1, dynamodb_wru: written, ..Default::default() },
        Some(Channel::Stream) => {
            ServiceUsage { dynamodb_wru: 2 * (r.accepted + r.rejected) + r.duplicates, ..Default::default() }
        }
        Some(Channel::Http) => {
            ServiceUsage { api_requests: 1, dynamodb_wru: written, dynamodb_rru: r.duplicates, ..Default::default() }
        }
        None => ServiceUsage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_functions_are_known_by_their_binary_name_with_or_without_the_deployments_prefix() {
        assert_eq!(channel_of("orderflow-sqs"), Some(Channel::Sqs));
        assert_eq!(channel_of("orderflow-s3"), Some(Channel::S3));
        assert_eq!(channel_of("dev-orderflow-stream"), Some(Channel::Stream));
        assert_eq!(channel_of("prod-2-orderflow-s3"), Some(Channel::S3));
        // Other functions are not ours, whatever their name says.
        for other in ["my-sqs-poller", "s3-thumbnailer", "orderflow-sqs-v2", "Prod-orderflow-sqs", "orderflow"] {
            assert_eq!(channel_of(other), None, "{other}");
        }
        assert_eq!(channel_of(&format!("{}orderflow-sqs", "x".repeat(21))), None);
    }

    #[test]
    fn an_invocation_of_a_function_that_is_not_ours_uses_no_services() {
        let c = Counts { records: 12, accepted: 10, duplicates: 1, rejected: 1, ..Counts::default() };
        assert_eq!(service_usage(None, &c, 1), ServiceUsage::default());
        let sqs = service_usage(channel_of("orderflow-sqs"), &c, 1);
        assert_eq!((sqs.sqs_requests, sqs.dynamodb_wru), (12 + 2 * 2, 12));
    }

    #[test]
    fn an_http_invocation_is_one_api_request_and_a_duplicate_reads_the_stored_order_back() {
        let dup = Counts { records: 1, accepted: 0, duplicates: 1, rejected: 0, ..Counts::default() };
        let u = service_usage(channel_of("prod-orderflow-http"), &dup, 1);
        assert_eq!((u.api_requests, u.dynamodb_wru, u.dynamodb_rru, u.sqs_requests), (1, 1, 1, 0));
        let health = service_usage(channel_of("orderflow-http"), &Counts::default(), 1);
        assert_eq!(health, ServiceUsage { api_requests: 1, ..Default::default() });
    }
}
