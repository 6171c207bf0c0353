//! `orderflow bootstrap --aws`: creates the table, queues and bucket on AWS (or moto,
//! LocalStack) with the settings `infra/` uses, and prints the `export` lines that point the CLI
//! and the local runtime at them.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Required: create the resources on AWS (the SDK's configuration: AWS_REGION,
    /// AWS_ENDPOINT_URL, profiles). Names come from ORDERFLOW_TABLE, ORDERFLOW_BUCKET and the
    /// queue URL variables, else the defaults.
    #[arg(long)]
    pub aws: bool,
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if !a.aws {
        anyhow::bail!(
            "bootstrap creates AWS resources and needs --aws; the embedded default (SQLite and a folder as \
             the bucket) needs no bootstrap, it is created on first use"
        );
    }
    let cfg = crate::store::aws::sdk_config().await;
    let names = crate::store::aws::Names::of(&crate::config::Config::from_env());
    let done = crate::store::aws::bootstrap_with(&cfg, &names).await?;
    eprintln!("bootstrapped in {}:", done.region);
    eprintln!("  table   {} (stream {})", done.table, done.stream_arn);
    eprintln!("  bucket  {} (notifies {} for {}*)", done.bucket, done.uploads.name, crate::config::IMPORT_PREFIX);
    for q in [&done.orders, &done.orders_dlq, &done.uploads, &done.uploads_dlq, &done.stream_failures] {
        eprintln!("  queue   {}", q.url);
    }
    if done.changes.is_empty() {
        eprintln!("everything was in place: nothing changed");
    } else {
        for c in &done.changes {
            eprintln!("  + {c}");
        }
    }
    print!("{}", done.exports());
    Ok(ExitCode::SUCCESS)
}
