//! The one place adapters are built and handed to the handlers: the AWS adapters over the
//! resources [`Config`] names (the Lambda binaries, the CLI's `--aws`), and the embedded default
//! under a data directory. The handlers only see ports ([`Deps`]).

use crate::config::Config;
use crate::ingest::Deps;
use crate::metering::{EmfSink, Metrics};
use crate::store::aws::{sdk_config, AwsAdapters};
use crate::store::embedded::Embedded;

/// What a Lambda binary runs: the AWS adapters from the environment, EMF on stdout.
pub async fn lambda() -> Deps {
    aws_deps(&aws(&Config::from_env()).await, Metrics::from_env(EmfSink::Stdout))
}

/// The AWS clients (the SDK's own configuration chain) over the resources `config` names.
pub(crate) async fn aws(config: &Config) -> AwsAdapters {
    AwsAdapters::new(&sdk_config().await, config)
}

/// The handlers' ports over the AWS adapters.
pub(crate) fn aws_deps(aws: &AwsAdapters, metrics: Metrics) -> Deps {
    Deps::new(aws.store.clone(), aws.objects.clone(), aws.orders_queue.clone(), metrics)
}

/// The handlers' ports over the embedded default (SQLite and a folder bucket in a data dir).
pub fn embedded(e: &Embedded, metrics: Metrics) -> Deps {
    Deps::new(e.store.clone(), e.bucket.clone(), e.orders_queue.clone(), metrics)
}
