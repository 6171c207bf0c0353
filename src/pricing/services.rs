//! The services around Lambda an order touches: SQS requests, S3 requests, DynamoDB request
//! units, API Gateway requests; what one invocation uses of them, and their prices.

use super::{dec, exact};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// SQS standard queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqsPricing {
    #[serde(with = "exact")]
    pub request_per_million: Decimal,
    /// Every chunk of this many payload bytes is billed as one request.
    pub chunk_bytes: u64,
}

impl Default for SqsPricing {
    fn default() -> Self {
        SqsPricing { request_per_million: dec(40, 2), chunk_bytes: 64 * 1024 }
    }
}

/// S3 Standard requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Pricing {
    #[serde(with = "exact")]
    pub get_per_thousand: Decimal,
    #[serde(with = "exact")]
    pub put_per_thousand: Decimal,
}

impl Default for S3Pricing {
    fn default() -> Self {
        S3Pricing { get_per_thousand: dec(4, 4), put_per_thousand: dec(5, 3) }
    }
}

/// DynamoDB on-demand request units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamoDbPricing {
    #[serde(with = "exact")]
    pub write_request_unit_per_million: Decimal,
    #[serde(with = "exact")]
    pub read_request_unit_per_million: Decimal,
}

impl Default for DynamoDbPricing {
    fn default() -> Self {
        DynamoDbPricing { write_request_unit_per_million: dec(625, 3), read_request_unit_per_million: dec(125, 3) }
    }
}

/// What fronts `orderflow-http`, and so what each of its requests costs besides Lambda's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrontDoor {
    /// An API Gateway HTTP API (infra/'s default).
    HttpApi,
    /// An API Gateway REST API.
    RestApi,
    /// A Lambda Function URL: no charge of its own (Lambda's request and duration only).
    FunctionUrl,
}

/// API Gateway requests (first tier: HTTP API $1.00 per million up to 300 million a month,
/// metered per 512 KB, so one per order body of at most 256 KiB; REST API $3.50 per million up
/// to 333 million).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiGatewayPricing {
    pub front_door: FrontDoor,
    #[serde(with = "exact")]
    pub http_api_request_per_million: Decimal,
    #[serde(with = "exact")]
    pub rest_api_request_per_million: Decimal,
}

impl Default for ApiGatewayPricing {
    fn default() -> Self {
        ApiGatewayPricing {
            front_door: FrontDoor::HttpApi,
            http_api_request_per_million: dec(100, 2),
            rest_api_request_per_million: dec(350, 2),
        }
    }
}

impl ApiGatewayPricing {
    /// The price per million requests of the configured front door.
    pub(crate) fn request_per_million(&self) -> Decimal {
        match self.front_door {
            FrontDoor::HttpApi => self.http_api_request_per_million,
            FrontDoor::RestApi => self.rest_api_request_per_million,
            FrontDoor::FunctionUrl => Decimal::ZERO,
        }
    }
}

/// What one invocation uses of the services around Lambda.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceUsage {
    pub sqs_requests: u64,
    pub s3_gets: u64,
    pub s3_puts: u64,
    pub dynamodb_wru: u64,
    pub dynamodb_rru: u64,
    /// Requests through API Gateway (one per `orderflow-http` invocation).
    pub api_requests: u64,
}

impl ServiceUsage {
    pub fn add(&mut self, o: &ServiceUsage) {
        self.sqs_requests += o.sqs_requests;
        self.s3_gets += o.s3_gets;
        self.s3_puts += o.s3_puts;
        self.dynamodb_wru += o.dynamodb_wru;
        self.dynamodb_rru += o.dynamodb_rru;
        self.api_requests += o.api_requests;
    }
}

/// SQS requests one message of `payload_bytes` costs per API call (one per 64 KiB chunk).
pub(crate) fn sqs_requests_for(payload_bytes: u64, chunk_bytes: u64) -> u64 {
    payload_bytes.div_ceil(chunk_bytes.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::super::tests::d;
    use super::super::Pricing;
    use super::*;

    #[test]
    fn sqs_bills_one_request_per_64_kib_chunk_and_the_services_add_up() {
        assert_eq!(sqs_requests_for(0, 65_536), 1);
        assert_eq!(sqs_requests_for(65_536, 65_536), 1);
        assert_eq!(sqs_requests_for(65_537, 65_536), 2);
        assert_eq!(sqs_requests_for(256 * 1024, 65_536), 4);
        let p = Pricing::default();
        let u = ServiceUsage {
            sqs_requests: 1_000_000,
            s3_gets: 1000,
            s3_puts: 1000,
            dynamodb_wru: 1_000_000,
            dynamodb_rru: 1_000_000,
            api_requests: 1_000_000,
        };
        assert_eq!(p.services_usd(&u), d("0.40") + d("0.0004") + d("0.005") + d("0.625") + d("0.125") + d("1.00"));
    }

    #[test]
    fn an_api_request_costs_what_the_front_door_charges() {
        let mut p = Pricing::default();
        let one = ServiceUsage { api_requests: 1, ..Default::default() };
        assert_eq!(p.services_usd(&one), d("0.000001"));
        p.api_gateway.front_door = FrontDoor::RestApi;
        assert_eq!(p.services_usd(&one), d("0.0000035"));
        p.api_gateway.front_door = FrontDoor::FunctionUrl;
        assert_eq!(p.services_usd(&one), d("0"));
        let toml = "[api_gateway]\nfront_door = \"rest-api\"\nrest_api_request_per_million = \"3.70\"\n";
        let read = Pricing::from_toml(toml).unwrap();
        assert_eq!(read.api_gateway.request_per_million(), d("3.70"));
    }
}
