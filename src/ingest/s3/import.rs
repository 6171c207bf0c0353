//! Streaming parsers for bulk order files (JSON Lines and CSV, optionally gzip): a blocking
//! reader thread turns the object into chunks of order units, and (for the S3 import) one
//! thread per core prepares their records, all over bounded channels, so memory stays bounded
//! whatever the object's size.

use crate::config::MAX_BODY_BYTES;
use crate::core::processing::{self, Origin, Prepared};
use crate::order::{OrderInput, Source};
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;

mod csv_file;
mod limits;

/// The file formats an import understands, from the key's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    JsonLines,
    Csv,
}

/// Format and compression from a key: `.jsonl`/`.ndjson`/`.csv`, each optionally `.gz`.
pub(crate) fn detect(key: &str) -> Option<(Format, bool)> {
    let lower = key.to_ascii_lowercase();
    let (stem, gz) = match lower.strip_suffix(".gz") {
        Some(s) => (s.to_string(), true),
        None => (lower, false),
    };
    if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
        Some((Format::JsonLines, gz))
    } else if stem.ends_with(".csv") {
        Some((Format::Csv, gz))
    } else {
        None
    }
}

/// One order-sized piece of a file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unit {
    /// A JSON Lines line: its place in the chunk's text, parsed later by the processing core.
    Json { line: u64, span: std::ops::Range<usize> },
    /// A CSV order: consecutive rows with the same order_id. `raw` is its rows' text.
    Csv { line: u64, input: Box<OrderInput>, raw: String },
    /// A piece that cannot be an order at all (bad UTF-8, a line over the size limit, a CSV row
    /// with the wrong number of fields...).
    Malformed { line: u64, raw: String, reason: String },
}

impl Unit {
    pub(crate) fn line(&self) -> u64 {
        match self {
            Unit::Json { line, .. } | Unit::Csv { line, .. } | Unit::Malformed { line, .. } => *line,
        }
    }
}

/// A run of consecutive units. JSON Lines lines stay in one shared text (one allocation per
/// chunk, not per line); the units point into it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Chunk {
    pub text: String,
    pub units: Vec<Unit>,
}

impl Chunk {
    /// The unit's text as it arrived: a JSON line's body, a CSV order's rows, a malformed piece.
    pub(crate) fn raw<'a>(&'a self, unit: &'a Unit) -> &'a str {
        match unit {
            Unit::Json { span, .. } => &self.text[span.clone()],
            Unit::Csv { raw, .. } | Unit::Malformed { raw, .. } => raw,
        }
    }

    /// The text to hand on to the orders queue as a message body.
    pub(crate) fn to_body(&self, unit: &Unit) -> String {
        match unit {
            Unit::Csv { input, .. } => input.to_json(),
            other => self.raw(other).to_string(),
        }
    }
}

/// A chunk with its records prepared (parsed, validated, priced) on a blocking thread, one
/// per unit, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedChunk {
    pub chunk: Chunk,
    pub prepared: Vec<Prepared>,
}

/// How the parser thread names the records it prepares: source ids are `<object>:<line>`.
#[derive(Debug, Clone)]
pub(crate) struct PrepareWith {
    pub object: String,
    pub received_at: String,
    pub limits: crate::config::ObjectLimits,
    /// Units before this line were accounted for by an earlier invocation (a continued
    /// import): they are left out unprepared.
    pub skip_before: u64,
}

impl PrepareWith {
    /// Prepares a chunk of units (CPU only: run it on a blocking thread). Every record of the
    /// chunk is stamped with the same `processed_at`.
    pub(crate) fn prepare_chunk(&self, mut chunk: Chunk) -> PreparedChunk {
        if self.skip_before > 0 {
            // The text stays: the kept units' spans still point into it.
            chunk.units.retain(|u| u.line() >= self.skip_before);
        }
        let processed_at = processing::now_rfc3339();
        let mut source_id = String::with_capacity(self.object.len() + 21);
        source_id.push_str(&self.object);
        source_id.push(':');
        let stem = source_id.len();
        let mut line_text = itoa::Buffer::new();
        let prepared = chunk
            .units
            .iter()
            .map(|unit| {
                source_id.truncate(stem);
                source_id.push_str(line_text.format(unit.line()));
                let origin = Origin { source: Source::S3, source_id: &source_id, received_at: &self.received_at };
                match unit {
                    Unit::Json { .. } => processing::prepare_body_at(chunk.raw(unit), origin, &processed_at),
                    Unit::Csv { input, raw, .. } => processing::prepare_input_at(input, raw, origin, &processed_at),
                    Unit::Malformed { raw, reason, .. } => {
                        processing::prepare_malformed_at(reason.clone(), raw, origin, &processed_at)
                    }
                }
            })
            .collect();
        PreparedChunk { chunk, prepared }
    }
}

/// Whole-file problems (a missing CSV column, an unreadable object).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FileError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading the object failed: {0}")]
    Read(String),
    /// A per-object limit was reached: the import stopped after `lines` lines (all accounted for).
    #[error("{reason}")]
    Limit { lines: u64, reason: String },
    /// The object's content cannot be decoded (a corrupt or truncated gzip stream): the import
    /// stopped after `lines` lines (all accounted for). Reading it again reads the same bytes.
    #[error("{reason}")]
    Corrupt { lines: u64, reason: String },
}

/// An error of the object store itself (the network, the disk) while the object was read,
/// marked as such on its way through the decoder: worth a retry.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct FromStore(std::io::Error);

/// The object as read from its store, every error marked `FromStore`: an error without the
/// mark came from decoding the content (see `read_failed`).
struct StoreReader<R>(R);

impl<R: Read> Read for StoreReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| std::io::Error::new(e.kind(), FromStore(e)))
    }
}

/// A failed read after `lines` lines: the store's failure is transient, the content's (gzip
/// cannot decode it) permanent.
pub(crate) fn read_failed(e: std::io::Error, lines: u64) -> FileError {
    if e.get_ref().is_some_and(|inner| inner.is::<FromStore>()) {
        return FileError::Read(e.to_string());
    }
    FileError::Corrupt {
        lines,
        reason: format!(
            "the object cannot be decompressed after line {lines}: {e}; the lines before it are accounted for"
        ),
    }
}

/// A chunk ends after this many units...
pub(crate) const CHUNK: usize = 512;
/// ...or before its text would pass this many bytes (a larger line gets a chunk of its own), so
/// that the chunks in flight stay small whatever the lines' length.
pub(crate) const CHUNK_TEXT_BYTES: usize = 96 * 1024;
pub(crate) const CHANNEL_CHUNKS: usize = 8;

/// Starts parsing `reader` on a blocking thread; chunks of units arrive on the receiver, then
/// the parser's final result (lines read, or a whole-file error).
pub(crate) fn spawn_parser<R: Read + Send + 'static>(
    reader: R,
    format: Format,
    gzip: bool,
) -> (mpsc::Receiver<Chunk>, tokio::task::JoinHandle<Result<u64, FileError>>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let limits = crate::config::ObjectLimits::from_env();
    (rx, spawn_reader(reader, format, gzip, limits, Box::new(move |chunk| tx.blocking_send(chunk).is_ok())))
}

/// Where the parser hands each finished chunk: false when nobody takes chunks any more.
pub(crate) type Deliver = Box<dyn FnMut(Chunk) -> bool + Send>;

fn spawn_reader<R: Read + Send + 'static>(
    reader: R,
    format: Format,
    gzip: bool,
    limits: crate::config::ObjectLimits,
    deliver: Deliver,
) -> tokio::task::JoinHandle<Result<u64, FileError>> {
    tokio::task::spawn_blocking(move || read_units(reader, format, gzip, limits, deliver))
}

/// Reads `reader` into chunks of units on the calling thread (it blocks), handing each to
/// `deliver`: lines read, or a whole-file error.
pub(crate) fn read_units<'r, R: Read + 'r>(
    reader: R,
    format: Format,
    gzip: bool,
    limits: crate::config::ObjectLimits,
    deliver: Deliver,
) -> Result<u64, FileError> {
    let reader = StoreReader(reader);
    let reader: Box<dyn Read + 'r> =
        if gzip { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { Box::new(reader) };
    let hit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = limits::Capped { inner: reader, left: limits.bytes, hit: hit.clone() };
    let reader = BufReader::with_capacity(256 * 1024, reader);
    let mut sink = ChunkSink::new(deliver);
    let result = match format {
        Format::JsonLines => parse_jsonl(reader, &mut sink, limits.lines),
        Format::Csv => csv_file::parse_csv(reader, &mut sink, limits.lines),
    };
    sink.flush();
    match result {
        Ok(lines) if hit.load(std::sync::atomic::Ordering::Relaxed) => Err(limits::too_many_bytes(limits.bytes, lines)),
        other => other,
    }
}

/// Chunks in flight to and from each preparing thread.
const WORKER_CHUNKS: usize = 2;

/// Parses `reader` and prepares its records on `workers` blocking threads: chunk k goes to
/// worker k mod n and `next` takes them back in the same turn, so they come out in file order
/// with no reordering buffer. Each worker runs as long as it has input and room for output:
/// nothing waits for the consumer to ask for more.
pub(crate) fn spawn_prepared<R: Read + Send + 'static>(
    reader: R,
    format: Format,
    gzip: bool,
    with: PrepareWith,
    workers: usize,
) -> PreparedChunks {
    let with = std::sync::Arc::new(with);
    let n = workers.max(1);
    let (mut inputs, mut outputs, mut handles) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<Chunk>(WORKER_CHUNKS);
        let (out_tx, out_rx) = mpsc::channel::<PreparedChunk>(WORKER_CHUNKS);
        let with = with.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            while let Ok(chunk) = in_rx.recv() {
                if out_tx.blocking_send(with.prepare_chunk(chunk)).is_err() {
                    break;
                }
            }
        }));
        inputs.push(in_tx);
        outputs.push(out_rx);
    }
    let mut turn = 0;
    let parser = spawn_reader(
        reader,
        format,
        gzip,
        with.limits,
        Box::new(move |chunk| {
            let sent = inputs[turn % n].send(chunk).is_ok();
            turn += 1;
            sent
        }),
    );
    PreparedChunks { outputs, turn: 0, done: false, workers: handles, parser }
}

/// The prepared chunks of one object, in file order (see `spawn_prepared`).
pub(crate) struct PreparedChunks {
    outputs: Vec<mpsc::Receiver<PreparedChunk>>,
    turn: usize,
    done: bool,
    workers: Vec<tokio::task::JoinHandle<()>>,
    parser: tokio::task::JoinHandle<Result<u64, FileError>>,
}

impl PreparedChunks {
    /// The next chunk; None once the file is done, or a worker stopped (`finish` tells), and
    /// None from then on: a later chunk must never follow a missing one.
    pub(crate) async fn next(&mut self) -> Option<PreparedChunk> {
        if self.done {
            return None;
        }
        let n = self.outputs.len();
        let chunk = self.outputs[self.turn % n].recv().await;
        self.turn += 1;
        self.done = chunk.is_none();
        chunk
    }

    /// After `next` gave None: lines read, or why the file or its preparation failed.
    pub(crate) async fn finish(self) -> Result<u64, FileError> {
        // Workers still waiting to hand over a chunk must see that nobody will take it.
        drop(self.outputs);
        let mut failed = None;
        for worker in self.workers {
            if let Err(e) = worker.await {
                failed.get_or_insert(FileError::Read(format!("preparing orders failed: {e}")));
            }
        }
        let parsed = self.parser.await.map_err(|e| FileError::Read(format!("the parser stopped: {e}")));
        match failed {
            Some(e) => Err(e),
            None => parsed?,
        }
    }
}

pub(crate) struct ChunkSink {
    deliver: Deliver,
    chunk: Chunk,
    /// The chunk's bytes: its shared text and the text its other units carry.
    bytes: usize,
}

impl ChunkSink {
    fn new(deliver: Deliver) -> ChunkSink {
        ChunkSink { deliver, chunk: Self::fresh(0), bytes: 0 }
    }

    /// A new chunk with room for text like the last one's (a little more, so it rarely grows).
    fn fresh(last_text: usize) -> Chunk {
        let room = (last_text + last_text / 8 + 1024).min(CHUNK_TEXT_BYTES + 4096);
        Chunk { text: String::with_capacity(room), units: Vec::with_capacity(CHUNK) }
    }

    /// Returns false when the receiver has gone (the import stopped).
    pub(crate) fn push(&mut self, unit: Unit) -> bool {
        let size = match &unit {
            // Its text is in the chunk's text already, counted by `push_json`.
            Unit::Json { .. } => 0,
            Unit::Csv { raw, .. } => raw.len(),
            Unit::Malformed { raw, reason, .. } => raw.len() + reason.len(),
        };
        if !self.make_room(size) {
            return false;
        }
        self.bytes += size;
        self.chunk.units.push(unit);
        if self.chunk.units.len() >= CHUNK || self.bytes >= CHUNK_TEXT_BYTES {
            return self.flush();
        }
        true
    }

    /// Sends the chunk first if `size` more bytes would take it past the limit, so that a
    /// chunk holds at most the limit, or one unit larger than that.
    fn make_room(&mut self, size: usize) -> bool {
        if self.bytes > 0 && self.bytes + size > CHUNK_TEXT_BYTES {
            return self.flush();
        }
        true
    }

    /// Adds a JSON line to the chunk's text.
    fn push_json(&mut self, line: u64, body: &str) -> bool {
        if !self.make_room(body.len()) {
            return false;
        }
        let start = self.chunk.text.len();
        self.chunk.text.push_str(body);
        self.bytes += body.len();
        self.push(Unit::Json { line, span: start..self.chunk.text.len() })
    }

    fn flush(&mut self) -> bool {
        if self.chunk.units.is_empty() {
            return true;
        }
        let last = self.chunk.text.len();
        let chunk = std::mem::replace(&mut self.chunk, Self::fresh(last));
        self.bytes = 0;
        (self.deliver)(chunk)
    }
}

/// Reads one line of at most `max` bytes (without the newline). Longer lines are consumed to
/// their end and reported by length, never held in memory. `Ok(None)` at end of input.
pub(crate) fn read_bounded_line<R: BufRead>(
    r: &mut R,
    max: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<Option<usize>> {
    out.clear();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(if any { Some(total) } else { None });
        }
        any = true;
        let (take, found) = match memchr(b'\n', buf) {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if out.len() < max + 1 {
            let room = (max + 1 - out.len()).min(take);
            out.extend_from_slice(&buf[..room]);
        }
        total += take;
        r.consume(take + usize::from(found));
        if found {
            return Ok(Some(total));
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn parse_jsonl<R: BufRead>(mut r: R, sink: &mut ChunkSink, max_lines: u64) -> Result<u64, FileError> {
    let mut line_no = 0u64;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let io = |e: std::io::Error| read_failed(e, line_no);
        if line_no >= max_lines {
            return if r.fill_buf().map_err(io)?.is_empty() {
                Ok(line_no)
            } else {
                Err(limits::too_many_lines(max_lines))
            };
        }
        // Usually the whole line is in the reader's buffer: it is taken from there, uncopied;
        // a line that runs past the buffer is gathered (bounded) in `buf`.
        let available = r.fill_buf().map_err(io)?;
        if available.is_empty() {
            return Ok(line_no);
        }
        let pushed = match memchr(b'\n', available) {
            Some(end) => {
                line_no += 1;
                let pushed = json_line(sink, line_no, &available[..end], end);
                r.consume(end + 1);
                pushed
            }
            None => {
                let Some(len) = read_bounded_line(&mut r, MAX_BODY_BYTES, &mut buf).map_err(io)? else {
                    return Ok(line_no);
                };
                line_no += 1;
                json_line(sink, line_no, &buf, len)
            }
        };
        if !pushed {
            return Ok(line_no);
        }
    }
}

/// One JSON Lines line, without its newline: `len` is its whole length, of which an over-long
/// line's `bytes` keep only the start. Blank lines are skipped. False when the receiver has gone.
fn json_line(sink: &mut ChunkSink, line: u64, bytes: &[u8], len: usize) -> bool {
    // The whole line is here unless it is over the limit: only then is `bytes` shorter.
    let (bytes, len) = match bytes.strip_suffix(b"\r") {
        Some(body) if bytes.len() == len => (body, len - 1),
        _ => (bytes, len),
    };
    // A UTF-8 byte order mark (editors on Windows write one) is not part of the first order.
    const BOM: &[u8] = "\u{feff}".as_bytes();
    let (bytes, len) = match bytes.strip_prefix(BOM) {
        Some(rest) if line == 1 => (rest, len - BOM.len()),
        _ => (bytes, len),
    };
    if len > MAX_BODY_BYTES {
        return sink.push(Unit::Malformed {
            line,
            raw: String::from_utf8_lossy(&bytes[..200.min(bytes.len())]).into_owned(),
            reason: format!("line is {len} bytes; the limit is {MAX_BODY_BYTES} bytes (256 KiB)"),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if s.trim().is_empty() => true,
        Ok(s) => sink.push_json(line, s),
        Err(e) => sink.push(Unit::Malformed {
            line,
            raw: String::from_utf8_lossy(bytes).into_owned(),
            reason: format!("line is not valid UTF-8: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chunk the parser sends, in order, and its final result.
    async fn parse(bytes: Vec<u8>, format: Format) -> (Vec<Chunk>, Result<u64, FileError>) {
        let (mut rx, parser) = spawn_parser(std::io::Cursor::new(bytes), format, false);
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.recv().await {
            chunks.push(chunk);
        }
        (chunks, parser.await.expect("the parser thread ends"))
    }

    #[tokio::test]
    async fn json_lines_keep_their_text_and_numbers_across_many_chunks() {
        let mut file = String::new();
        let mut expected = Vec::new();
        for n in 1..=3000u64 {
            match n % 7 {
                0 => file.push('\n'),
                1 => {
                    let body = format!(r#"{{"order_id":"o-{n}","pad":"{}"}}"#, "x".repeat(n as usize % 900));
                    file.push_str(&body);
                    file.push_str("\r\n");
                    expected.push((n, body));
                }
                _ => {
                    let body = format!(r#"{{"order_id":"o-{n}"}}"#);
                    file.push_str(&body);
                    file.push('\n');
                    expected.push((n, body));
                }
            }
        }
        let (chunks, result) = parse(file.into_bytes(), Format::JsonLines).await;
        assert_eq!(result, Ok(3000));
        assert!(chunks.len() > 3000 / CHUNK, "{} chunks", chunks.len());
        let mut got = Vec::new();
        for chunk in &chunks {
            assert!(chunk.units.len() <= CHUNK);
            assert!(chunk.text.len() <= CHUNK_TEXT_BYTES, "a chunk of {} bytes", chunk.text.len());
            got.extend(chunk.units.iter().map(|u| (u.line(), chunk.raw(u).to_string())));
        }
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_malformed_and_the_next_line_still_read() {
        let long = format!(r#"{{"order_id":"big","pad":"{}"}}"#, "y".repeat(MAX_BODY_BYTES));
        let file = format!("{long}\n{{\"order_id\":\"after\"}}\n");
        let (chunks, result) = parse(file.into_bytes(), Format::JsonLines).await;
        assert_eq!(result, Ok(2));
        let units: Vec<&Unit> = chunks.iter().flat_map(|c| &c.units).collect();
        match units[0] {
            Unit::Malformed { line: 1, raw, reason } => {
                assert_eq!(raw.len(), 200, "only the start of the line is kept");
                assert_eq!(reason, &format!("line is {} bytes; the limit is 262144 bytes (256 KiB)", long.len()));
            }
            other => panic!("expected a malformed line, got {other:?}"),
        }
        assert_eq!(chunks.last().unwrap().raw(units[1]), r#"{"order_id":"after"}"#);
        assert_eq!(units[1].line(), 2);
    }

    /// A reader that hands out a few bytes at a time, as a network body does.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (1 + self.at % 7).min(buf.len()).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[tokio::test]
    async fn lines_that_arrive_a_few_bytes_at_a_time_are_read_alike() {
        let file = "{\"order_id\":\"a\"}\r\n\r\n{\"order_id\":\"b\"}\n\n{\"order_id\":\"c\"}\r\n{\"order_id\":\"d\"}";
        let (mut rx, parser) =
            spawn_parser(Trickle { bytes: file.as_bytes().to_vec(), at: 0 }, Format::JsonLines, false);
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.extend(chunk.units.iter().map(|u| (u.line(), chunk.raw(u).to_string())));
        }
        assert_eq!(parser.await.unwrap(), Ok(6));
        let want: Vec<(u64, String)> = [(1, "a"), (3, "b"), (5, "c"), (6, "d")]
            .iter()
            .map(|(n, id)| (*n, format!(r#"{{"order_id":"{id}"}}"#)))
            .collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_long_line_after_many_short_ones_gets_a_chunk_of_its_own() {
        let short = r#"{"order_id":"s"}"#;
        let long = format!(r#"{{"order_id":"l","pad":"{}"}}"#, "z".repeat(250 * 1024));
        let n_short = 95 * 1024 / (short.len() + 1);
        let file = format!("{}{long}\n{short}\n", format!("{short}\n").repeat(n_short));
        let (chunks, result) = parse(file.into_bytes(), Format::JsonLines).await;
        assert_eq!(result, Ok(n_short as u64 + 2));
        let holding_long = chunks.iter().find(|c| c.text.len() > CHUNK_TEXT_BYTES).expect("the long line");
        assert_eq!(holding_long.units.len(), 1, "the long line shares no chunk");
        assert_eq!(holding_long.raw(&holding_long.units[0]), long);
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_limit_is_read_whether_it_ends_in_crlf_or_lf() {
        let body = format!(r#"{{"order_id":"x","pad":"{}"}}"#, "p".repeat(MAX_BODY_BYTES - 25));
        assert_eq!(body.len(), MAX_BODY_BYTES);
        for ending in ["\r\n", "\n"] {
            let (chunks, _) = parse(format!("{body}{ending}").into_bytes(), Format::JsonLines).await;
            let unit = &chunks[0].units[0];
            assert!(matches!(unit, Unit::Json { .. }), "{ending:?}: {unit:?}");
            assert_eq!(chunks[0].raw(unit), body);
        }
    }

    #[tokio::test]
    async fn lines_that_are_not_utf8_count_toward_the_chunk_size() {
        let bad = vec![0xffu8; 100 * 1024];
        let mut file = Vec::new();
        for _ in 0..20 {
            file.extend_from_slice(&bad);
            file.push(b'\n');
        }
        let (chunks, result) = parse(file, Format::JsonLines).await;
        assert_eq!(result, Ok(20));
        assert_eq!(chunks.len(), 20, "each ~300 KB lossy copy fills a chunk on its own");
        assert!(chunks.iter().all(|c| matches!(c.units[..], [Unit::Malformed { .. }])));
    }

    #[tokio::test]
    async fn a_utf8_bom_at_the_start_of_a_json_lines_file_is_skipped_and_only_there() {
        let file = "\u{feff}{\"order_id\":\"a\"}\n\u{feff}{\"order_id\":\"b\"}\n";
        let (chunks, result) = parse(file.as_bytes().to_vec(), Format::JsonLines).await;
        assert_eq!(result, Ok(2));
        let got: Vec<&str> = chunks[0].units.iter().map(|u| chunks[0].raw(u)).collect();
        assert_eq!(got, vec![r#"{"order_id":"a"}"#, "\u{feff}{\"order_id\":\"b\"}"]);
    }

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_malformed_with_its_reason() {
        let mut file = b"{\"order_id\":\"a\"}\n{\"order_id\":\"\xff\xfe\"}\n".to_vec();
        file.extend_from_slice(b"{\"order_id\":\"c\"}");
        let (chunks, result) = parse(file, Format::JsonLines).await;
        assert_eq!(result, Ok(3));
        let chunk = &chunks[0];
        let lines: Vec<(u64, &str)> = chunk.units.iter().map(|u| (u.line(), chunk.raw(u))).collect();
        assert_eq!(lines[0], (1, r#"{"order_id":"a"}"#));
        assert_eq!(lines[2], (3, r#"{"order_id":"c"}"#), "the last line needs no newline");
        match &chunk.units[1] {
            Unit::Malformed { line: 2, reason, .. } => {
                assert!(reason.starts_with("line is not valid UTF-8"), "{reason}")
            }
            other => panic!("expected a malformed line, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod prepared_tests {
    use super::*;

    fn file(lines: usize) -> Vec<u8> {
        (1..=lines)
            .map(|n| {
                format!(
                    r#"{{"order_id":"o-{n}","customer_id":"c","currency":"USD","items":[{{"sku":"S","quantity":1,"unit_price":"1.00"}}]}}"#
                ) + "\n"
            })
            .collect::<String>()
            .into_bytes()
    }

    fn with() -> PrepareWith {
        PrepareWith {
            object: "b/incoming/k.jsonl".into(),
            received_at: "2026-11-27T00:00:00.000Z".into(),
            limits: Default::default(),
            skip_before: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prepared_chunks_come_back_in_file_order_from_several_workers() {
        let mut chunks = spawn_prepared(std::io::Cursor::new(file(5000)), Format::JsonLines, false, with(), 3);
        let mut next_line = 1;
        let mut n_chunks = 0;
        while let Some(PreparedChunk { chunk, prepared }) = chunks.next().await {
            n_chunks += 1;
            assert_eq!(chunk.units.len(), prepared.len());
            for (unit, p) in chunk.units.iter().zip(&prepared) {
                assert_eq!(unit.line(), next_line);
                match p {
                    Prepared::Order(o) => {
                        assert_eq!(o.order_id.as_deref(), Some(format!("o-{next_line}").as_str()));
                        assert_eq!(o.source_id, format!("b/incoming/k.jsonl:{next_line}"));
                    }
                    other => panic!("line {next_line} was not prepared as an order: {other:?}"),
                }
                next_line += 1;
            }
        }
        assert!(n_chunks >= 6, "5000 lines make several chunks for three workers, got {n_chunks}");
        assert_eq!(next_line, 5001);
        assert_eq!(chunks.finish().await, Ok(5000));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_that_stops_early_releases_the_parser_and_the_workers() {
        let mut chunks = spawn_prepared(std::io::Cursor::new(file(50_000)), Format::JsonLines, false, with(), 2);
        assert!(chunks.next().await.is_some());
        // Nobody takes the rest: the workers and the parser must end rather than wait forever.
        let lines = tokio::time::timeout(std::time::Duration::from_secs(30), chunks.finish())
            .await
            .expect("finish returns")
            .expect("no error");
        assert!(lines < 50_000, "the parser stopped early ({lines} lines)");
    }
}
