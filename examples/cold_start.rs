//! Cold start of a Lambda binary, measured against a Runtime API stub (a test helper, named as
//! such: it speaks just enough of the Lambda Runtime API for one invocation).
//!
//! For each run it starts the binary with `AWS_LAMBDA_RUNTIME_API` pointing at the stub and
//! records: init = exec to the first `GET /runtime/invocation/next`; with an event file, first
//! invoke = that event handed out to the function's `POST .../response`.
//!
//!   cargo run --release --example cold_start -- target/release/orderflow-sqs 20 [event.json]
//!
//! The binary inherits this process's environment (set `AWS_ENDPOINT_URL` to a moto_server with
//! the resources `orderflow bootstrap --aws` creates to give the first invoke a real store);
//! Lambda's own variables and test credentials are set here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let binary = args.first().ok_or_else(|| anyhow::anyhow!("usage: cold_start BINARY [RUNS] [EVENT_FILE]"))?;
    let runs: usize = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(10);
    let event = args.get(2).map(std::fs::read).transpose()?;
    let name = std::path::Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or("function").to_string();
    let (mut inits, mut invokes) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (init, invoke) = one_run(binary, &name, event.as_deref())?;
        inits.push(init);
        invokes.extend(invoke);
    }
    print_stats(&format!("{name} init (exec -> first /next)"), &mut inits);
    if !invokes.is_empty() {
        print_stats(&format!("{name} first invoke (event -> response)"), &mut invokes);
    }
    Ok(())
}

fn print_stats(what: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: median {:.2} ms, min {:.2} ms, max {:.2} ms ({} runs)",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

fn one_run(binary: &str, name: &str, event: Option<&[u8]>) -> anyhow::Result<(Duration, Option<Duration>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let api = listener.local_addr()?.to_string();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start")
        .env("AWS_REGION", std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()))
        .env("AWS_ACCESS_KEY_ID", std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "testing".into()))
        .env("AWS_SECRET_ACCESS_KEY", std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "testing".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = serve(&listener, started, event);
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Answers the function's requests until its first response (or, without an event, its first
/// `/next`).
fn serve(
    listener: &TcpListener,
    started: Instant,
    event: Option<&[u8]>,
) -> anyhow::Result<(Duration, Option<Duration>)> {
    let (mut init, mut handed_out) = (None, None);
    loop {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut stream = stream;
        while let Some((method, path)) = read_request(&mut reader)? {
            if method == "GET" && path.ends_with("/runtime/invocation/next") {
                let now = Instant::now();
                init.get_or_insert(now - started);
                let Some(event) = event.filter(|_| handed_out.is_none()) else {
                    return Ok((init.expect("set above"), None));
                };
                handed_out = Some(now);
                respond(&mut stream, "200 OK", &invocation_headers(), event)?;
            } else if method == "POST" && path.contains("/runtime/invocation/") {
                respond(&mut stream, "202 Accepted", "", b"{}")?;
                let took = handed_out.map(|t| t.elapsed());
                return Ok((init.ok_or_else(|| anyhow::anyhow!("a response before any /next"))?, took));
            } else {
                respond(&mut stream, "202 Accepted", "", b"{}")?;
                if path.ends_with("/init/error") {
                    anyhow::bail!("the function reported an init error");
                }
            }
        }
    }
}

fn invocation_headers() -> String {
    let deadline =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + 30_000;
    format!(
        "Lambda-Runtime-Aws-Request-Id: cold-start-1\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:cold-start\r\n\
         Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
    )
}

/// Reads one HTTP/1.1 request (method, path), skipping its body; none when the peer closed.
fn read_request(reader: &mut BufReader<TcpStream>) -> anyhow::Result<Option<(String, String)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((method, path)))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]) -> anyhow::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    Ok(stream.flush()?)
}
