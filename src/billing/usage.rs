//! What one invocation of our functions used of SQS, S3 and DynamoDB, estimated from its counts
//! and from which of our functions it was: one table of the functions by name, no guessing from
//! parts of a name.

use crate::pricing::ServiceUsage;

/// The ingestion channel a function serves: what its invocations do around Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Sqs,
    S3,
    Stream,
}

/// Our functions, by the name of their binary. A deployment names each
/// `<name_prefix><binary name>` (infra/main.tf; `name_prefix` is at most 20 of `[a-z0-9-]`).
pub(crate) const FUNCTIONS: [(&str, Channel); 3] =
    [("orderflow-sqs", Channel::Sqs), ("orderflow-s3", Channel::S3), ("orderflow-stream", Channel::Stream)];

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

/// The record counts of an invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub records: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
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
        let c = Counts { records: 12, accepted: 10, duplicates: 1, rejected: 1 };
        assert_eq!(service_usage(None, &c, 1), ServiceUsage::default());
        let sqs = service_usage(channel_of("orderflow-sqs"), &c, 1);
        assert_eq!((sqs.sqs_requests, sqs.dynamodb_wru), (12 + 2 * 2, 12));
    }
}
