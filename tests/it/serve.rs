//! `orderflow serve`: the real binary on a loopback port, driven by a real HTTP client
//! (reqwest) and, for what no well-behaved client does, by hand over a TCP socket.

use crate::common::stored;
use orderflow::store::embedded::Embedded;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn order(id: &str, quantity: u32) -> String {
    format!(
        r#"{{"order_id":"{id}","customer_id":"cust-1","currency":"USD","items":[{{"sku":"SKU-1","quantity":{quantity},"unit_price":"2.50"}}],"tax_rate":"0.1"}}"#
    )
}

/// A running `orderflow serve` on a fresh data dir, its stdout (EMF) and stderr (access log)
/// collected line by line.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(read_timeout_s: u64) -> Server {
        Server::start_with(read_timeout_s, &[], &[])
    }

    /// `start` with more arguments (`--aws`) and environment variables.
    fn start_with(read_timeout_s: u64, args: &[&str], envs: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .args(["serve", "--listen", "127.0.0.1:0", "--read-timeout", &read_timeout_s.to_string()])
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("orderflow serve starts");
        let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        for (pipe, into) in [
            (Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, stdout.clone()),
            (Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    into.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            let found = stderr.lock().unwrap().iter().find_map(|l| {
                l.split("listening on http://").nth(1).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            });
            if let Some(addr) = found {
                break addr;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not start: {:?}", stderr.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, addr, dir, stdout, stderr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The access log lines (stderr lines that name a request).
    fn access_log(&self) -> Vec<String> {
        self.stderr.lock().unwrap().iter().filter(|l| l.contains("\" ")).cloned().collect()
    }

    fn emf(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).expect("stdout holds EMF lines only"))
            .collect()
    }

    async fn stored(&self) -> std::collections::BTreeMap<String, orderflow::order::StoredOrder> {
        stored(Embedded::open(self.dir.path()).unwrap().store.as_ref()).await
    }

    /// SIGTERM, then the exit status.
    fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes and reads until the server closes or `wait` passes: what came back.
fn raw(addr: SocketAddr, parts: &[&[u8]], pause: Duration, wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(pause);
        }
        s.write_all(p).unwrap();
    }
    read_for(&mut s, wait)
}

fn read_for(s: &mut TcpStream, wait: Duration) -> String {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or("")
}

#[tokio::test]
async fn curl_style_posts_and_reads_go_through_one_kept_alive_connection() {
    let server = Server::start(10);
    // Idle before the first request: not part of the cold start's init.
    std::thread::sleep(Duration::from_millis(1200));
    let client = reqwest::Client::new();
    let form = "application/x-www-form-urlencoded"; // what `curl -d @order.json` sends
    let post = |body: String| client.post(server.url("/orders")).header("content-type", form).body(body).send();
    let created = post(order("o-1", 2)).await.unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/orders/o-1");
    let id = created.headers()["x-request-id"].to_str().unwrap().to_string();
    let created: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    assert_eq!((&created["total"], &created["source_id"]), (&Value::from("5.50"), &Value::from(id.as_str())));
    assert_eq!(post(order("o-1", 2)).await.unwrap().status(), 200);
    assert_eq!(post(order("o-1", 3)).await.unwrap().status(), 409);
    let got = client.get(server.url("/orders/o-1")).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(serde_json::from_slice::<Value>(&got.bytes().await.unwrap()).unwrap(), created);
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);

    // The server's output reaches us through a pipe and a reader thread: wait for it.
    let started = Instant::now();
    while (server.access_log().len() < 5 || server.emf().len() < 5) && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.access_log();
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(log[0].contains("\"POST /orders\" 201") && log[0].ends_with(&id), "{}", log[0]);
    let peers: std::collections::HashSet<&str> = log.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(peers.len(), 1, "one kept-alive connection: {log:?}");
    let emf = server.emf();
    assert_eq!(emf.len(), 5, "one EMF line per request");
    assert!(emf.iter().all(|l| l["FunctionName"] == "orderflow-http"));
    assert_eq!(emf.iter().map(|l| l["Accepted"].as_u64().unwrap()).sum::<u64>(), 1);
    assert!(
        emf[0]["InitDuration"].as_f64().unwrap() < 1000.0,
        "init ends when serve listens, not at the first request"
    );

    // `orderflow report` prices them with their front door: one API Gateway request each.
    let mut report = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["report", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    report.stdin.take().unwrap().write_all(server.stdout.lock().unwrap().join("\n").as_bytes()).unwrap();
    let out = report.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &report["report"]["functions"][0];
    assert_eq!(
        (&f["function"], &f["invocations"], &f["orders"]),
        (&Value::from("orderflow-http"), &Value::from(5), &Value::from(1))
    );
    assert_eq!((&f["services"]["api_requests"], &f["services"]["dynamodb_rru"]), (&Value::from(5), &Value::from(1)));
}

#[tokio::test]
async fn a_300_kib_body_is_413_and_the_server_keeps_serving() {
    let server = Server::start(10);
    let client = reqwest::Client::new();
    let big = format!(r#"{{"order_id":"o-big","pad":"{}"}}"#, "x".repeat(300 * 1024));
    let a =
        client.post(server.url("/orders")).header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(a.status(), 413);
    assert_eq!(a.headers()["content-type"], "application/problem+json");
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);
    let s = server.stored().await;
    assert_eq!(s.len(), 1);
    assert!(s.keys().next().unwrap().starts_with("rejected#http#"));
}

#[tokio::test]
async fn a_slow_client_that_stops_halfway_gets_408_and_holds_up_no_one() {
    let server = Server::start(2);
    let body = order("o-slow", 1);
    let head = format!(
        "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let half = body.as_bytes()[..body.len() / 2].to_vec();
    let addr = server.addr;
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&half).unwrap();
        read_for(&mut s, Duration::from_secs(10))
    });
    std::thread::sleep(Duration::from_millis(200));
    let client = reqwest::Client::new();
    let fast = client.post(server.url("/orders")).body(order("o-fast", 1)).send().await.unwrap();
    assert_eq!(fast.status(), 201);
    assert!(!slow.is_finished(), "the other client was answered only after the slow one: it was held up");
    let answer = tokio::task::spawn_blocking(move || slow.join().unwrap()).await.unwrap();
    assert_eq!(status_line(&answer), "HTTP/1.1 408 Request Timeout", "{answer}");
    assert!(answer.contains("urn:orderflow:problem:request-timeout"));
    assert_eq!(server.stored().await.keys().collect::<Vec<_>>(), ["o-fast"], "half a body is not stored");
}

#[tokio::test]
async fn a_content_length_that_lies_and_hostile_paths_get_a_clear_4xx_and_the_server_stays_up() {
    let server = Server::start(2);
    let wait = Duration::from_secs(5);
    // Promises 100 bytes, sends 10, then closes its side.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"order_id").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let answer = read_for(&mut s, wait);
    assert_eq!(status_line(&answer), "HTTP/1.1 400 Bad Request", "{answer}");
    // Promises 5 bytes and sends more: the 5 are the body (not JSON); the rest is no request.
    let answer = raw(
        server.addr,
        &[b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\":1}garbage\r\n\r\n"],
        Duration::ZERO,
        wait,
    );
    assert_eq!(status_line(&answer), "HTTP/1.1 400 Bad Request", "{answer}");
    assert!(answer.contains("malformed JSON"), "{answer}");
    for (path, status) in [
        ("/orders/../health", "HTTP/1.1 404 Not Found"),
        ("/orders/..%2Fhealth", "HTTP/1.1 400 Bad Request"),
        (&format!("/orders/{}", "o".repeat(65)), "HTTP/1.1 400 Bad Request"),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw(server.addr, &[request.as_bytes()], Duration::ZERO, wait);
        assert_eq!(status_line(&answer), status, "{path}: {answer}");
    }
    let client = reqwest::Client::new();
    let a = client.post(server.url("/orders")).body(b"{\"order_id\":\"\xff\"}".to_vec()).send().await.unwrap();
    assert_eq!(a.status(), 400);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(client.post(server.url("/orders")).body(deep).send().await.unwrap().status(), 400);
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);
    let s = server.stored().await;
    assert!(s.keys().all(|k| k.starts_with("rejected#http#")), "only rejections: {:?}", s.keys());
    assert_eq!(s.len(), 3, "the short body, the non-UTF-8 body and the deep one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_posts_of_fifty_orders_store_exactly_fifty() {
    let server = Server::start(10);
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (client, url) = (client.clone(), server.url("/orders"));
        tasks.spawn(async move {
            let r = client.post(url).body(order(&format!("o-{}", i % 50), 1)).send().await.unwrap();
            (i % 50, r.status().as_u16())
        });
    }
    let mut created = std::collections::BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, status) = done.unwrap();
        assert!(status == 201 || status == 200, "o-{id}: {status}");
        if status == 201 {
            *created.entry(id).or_insert(0) += 1;
        }
    }
    assert_eq!(created.len(), 50, "each order created once");
    assert!(created.values().all(|n| *n == 1));
    let s = server.stored().await;
    assert_eq!(s.len(), 50);
    assert!(s.values().all(|r| r.status.to_string() == "ACCEPTED"));
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_stops() {
    let mut server = Server::start(10);
    let body = order("o-late", 1);
    let head = format!("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len());
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // The listener closes once the signal is handled; the process stays for the request.
    let signalled = Instant::now();
    while TcpStream::connect(server.addr).is_ok() {
        assert!(signalled.elapsed() < Duration::from_secs(10), "still accepting 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.child.try_wait().unwrap().is_none(), "stopped with a request in flight");
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let answer = read_for(&mut s, Duration::from_secs(5));
    assert_eq!(status_line(&answer), "HTTP/1.1 201 Created", "{answer}");
    assert!(server.terminate().success());
    assert!(server.stored().await.contains_key("o-late"));
}

#[tokio::test]
async fn respond_async_queues_the_order_and_orderflow_run_stores_it_from_the_queue() {
    let server = Server::start(10);
    let client = reqwest::Client::new();
    let a = client
        .post(server.url("/orders"))
        .header("prefer", "respond-async")
        .body(order("o-q", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 202);
    assert!(server.stored().await.is_empty());
    let run = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["run", "--drain", "--quiet", "--batch-window", "0"])
        .arg("--data-dir")
        .arg(server.dir.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let s = server.stored().await;
    assert_eq!((s["o-q"].source.as_str(), s["o-q"].status.to_string().as_str()), ("sqs", "ACCEPTED"));
}

#[tokio::test]
async fn serve_aws_writes_to_dynamodb_and_queues_to_sqs_on_moto() {
    use orderflow::store::aws::DynamoStore;
    let cfg = crate::moto::sdk_config().await;
    let (ddb, sqs) = (aws_sdk_dynamodb::Client::new(&cfg), aws_sdk_sqs::Client::new(&cfg));
    let table = crate::moto::unique("serve-orders");
    crate::moto::create_orders_table(&ddb, &table).await;
    let queue = sqs.create_queue().queue_name(crate::moto::unique("serve-orders")).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let envs = [
        ("AWS_ENDPOINT_URL", crate::moto::endpoint()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("ORDERFLOW_TABLE", table.clone()),
        ("ORDERFLOW_ORDERS_QUEUE_URL", queue_url.clone()),
    ];
    let server = Server::start_with(10, &["--aws"], &envs);
    let client = reqwest::Client::new();
    let created = client.post(server.url("/orders")).body(order("aws-1", 4)).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    let again = client.post(server.url("/orders")).body(order("aws-1", 4)).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let got = client.get(server.url("/orders/aws-1")).send().await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&got.bytes().await.unwrap()).unwrap(), created);
    let store = DynamoStore::new(ddb, table);
    let s = stored(&store).await;
    assert_eq!((s.len(), s["aws-1"].total.unwrap().to_string()), (1, "11.00".to_string()));
    let queued = client.post(server.url("/orders")).header("prefer", "respond-async").body(order("aws-2", 1)).send();
    assert_eq!(queued.await.unwrap().status(), 202);
    let got = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    assert_eq!(
        got.messages().iter().map(|m| m.body().unwrap().to_string()).collect::<Vec<_>>(),
        vec![order("aws-2", 1)]
    );
}
