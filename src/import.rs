//! Streaming parsers for bulk order files (JSON Lines and CSV, optionally gzip): a blocking
//! reader thread turns the object into chunks of order units sent over a bounded channel, so
//! memory stays bounded whatever the object's size.

use crate::config::MAX_BODY_BYTES;
use crate::order::{ItemInput, ItemsInput, OrderInput, Scalar, Source};
use crate::processing::{self, Origin, Prepared};
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;

/// The file formats an import understands, from the key's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

/// Format and compression from a key: `.jsonl`/`.ndjson`/`.csv`, each optionally `.gz`.
pub fn detect(key: &str) -> Option<(Format, bool)> {
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
pub enum Unit {
    /// A JSON Lines line: the body, parsed later by the processing core.
    Json { line: u64, body: String },
    /// A CSV order: consecutive rows with the same order_id. `raw` is its rows' text.
    Csv { line: u64, input: Box<OrderInput>, raw: String },
    /// A piece that cannot be an order at all (bad UTF-8, a line over the size limit, a CSV row
    /// with the wrong number of fields...).
    Malformed { line: u64, raw: String, reason: String },
}

impl Unit {
    pub fn line(&self) -> u64 {
        match self {
            Unit::Json { line, .. } | Unit::Csv { line, .. } | Unit::Malformed { line, .. } => *line,
        }
    }

    /// The text to hand on to the orders queue as a message body.
    pub fn to_body(&self) -> String {
        match self {
            Unit::Json { body, .. } => body.clone(),
            Unit::Csv { input, .. } => input.to_json(),
            Unit::Malformed { raw, .. } => raw.clone(),
        }
    }
}

/// A unit with its record already prepared (parsed, validated, priced) on the parser thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub unit: Unit,
    pub prepared: Prepared,
}

/// How the parser thread names the records it prepares: source ids are `<object>:<line>`.
#[derive(Debug, Clone)]
pub struct PrepareWith {
    pub object: String,
    pub received_at: String,
}

impl PrepareWith {
    /// Prepares a chunk of units (CPU only: run it on a blocking thread).
    pub fn prepare_chunk(&self, chunk: Vec<Unit>) -> Vec<Parsed> {
        chunk.into_iter().map(|unit| Parsed { prepared: self.prepare(&unit), unit }).collect()
    }

    fn prepare(&self, unit: &Unit) -> Prepared {
        let source_id = format!("{}:{}", self.object, unit.line());
        let origin = Origin { source: Source::S3, source_id: &source_id, received_at: &self.received_at };
        match unit {
            Unit::Json { body, .. } => processing::prepare_body(body, origin),
            Unit::Csv { input, raw, .. } => processing::prepare_input(input, raw, origin),
            Unit::Malformed { raw, reason, .. } => processing::prepare_malformed(reason.clone(), raw, origin),
        }
    }
}

/// Whole-file problems (a missing CSV column, an unreadable object).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading the object failed: {0}")]
    Read(String),
}

pub const CHUNK: usize = 512;
pub const CHANNEL_CHUNKS: usize = 8;

/// Starts parsing `reader` on a blocking thread; chunks of units arrive on the receiver, then
/// the parser's final result (lines read, or a whole-file error).
pub fn spawn_parser<R: Read + Send + 'static>(
    reader: R,
    format: Format,
    gzip: bool,
) -> (mpsc::Receiver<Vec<Unit>>, tokio::task::JoinHandle<Result<u64, FileError>>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let handle = tokio::task::spawn_blocking(move || {
        let reader: Box<dyn Read> =
            if gzip { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { Box::new(reader) };
        let reader = BufReader::with_capacity(256 * 1024, reader);
        let mut sink = ChunkSink { tx, buf: Vec::with_capacity(CHUNK) };
        let result = match format {
            Format::JsonLines => parse_jsonl(reader, &mut sink),
            Format::Csv => parse_csv(reader, &mut sink),
        };
        sink.flush();
        result
    });
    (rx, handle)
}

struct ChunkSink {
    tx: mpsc::Sender<Vec<Unit>>,
    buf: Vec<Unit>,
}

impl ChunkSink {
    /// Returns false when the receiver has gone (the import stopped).
    fn push(&mut self, unit: Unit) -> bool {
        self.buf.push(unit);
        if self.buf.len() >= CHUNK {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(chunk).is_ok()
    }
}

/// Reads one line of at most `max` bytes (without the newline). Longer lines are consumed to
/// their end and reported by length, never held in memory. `Ok(None)` at end of input.
fn read_bounded_line<R: BufRead>(r: &mut R, max: usize, out: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
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

fn parse_jsonl<R: BufRead>(mut r: R, sink: &mut ChunkSink) -> Result<u64, FileError> {
    let mut line_no = 0u64;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let len = match read_bounded_line(&mut r, MAX_BODY_BYTES, &mut buf) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(line_no),
            Err(e) => return Err(FileError::Read(e.to_string())),
        };
        line_no += 1;
        if buf.last() == Some(&b'\r') && len <= MAX_BODY_BYTES {
            buf.pop();
        }
        let unit = if len > MAX_BODY_BYTES {
            Unit::Malformed {
                line: line_no,
                raw: String::from_utf8_lossy(&buf[..200.min(buf.len())]).into_owned(),
                reason: format!("line is {len} bytes; the limit is {MAX_BODY_BYTES} bytes (256 KiB)"),
            }
        } else {
            match std::str::from_utf8(&buf) {
                Ok(s) if s.trim().is_empty() => continue,
                Ok(s) => Unit::Json { line: line_no, body: s.to_string() },
                Err(e) => Unit::Malformed {
                    line: line_no,
                    raw: String::from_utf8_lossy(&buf).into_owned(),
                    reason: format!("line is not valid UTF-8: {e}"),
                },
            }
        };
        if !sink.push(unit) {
            return Ok(line_no);
        }
    }
}

/// The CSV columns, by position in the header.
struct Columns {
    order_id: usize,
    customer_id: usize,
    currency: usize,
    sku: usize,
    quantity: usize,
    unit_price: usize,
    discount_percent: Option<usize>,
    tax_rate: Option<usize>,
}

pub const CSV_REQUIRED: [&str; 6] = ["order_id", "customer_id", "currency", "sku", "quantity", "unit_price"];

fn columns(header: &csv::StringRecord) -> Result<Columns, FileError> {
    let find = |name: &str| header.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let missing: Vec<&str> = CSV_REQUIRED.iter().copied().filter(|c| find(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(FileError::Invalid(format!(
            "CSV header is missing column(s) {}; expected {} [,discount_percent,tax_rate]",
            missing.join(", "),
            CSV_REQUIRED.join(",")
        )));
    }
    Ok(Columns {
        order_id: find("order_id").unwrap(),
        customer_id: find("customer_id").unwrap(),
        currency: find("currency").unwrap(),
        sku: find("sku").unwrap(),
        quantity: find("quantity").unwrap(),
        unit_price: find("unit_price").unwrap(),
        discount_percent: find("discount_percent"),
        tax_rate: find("tax_rate"),
    })
}

fn cell(rec: &csv::StringRecord, i: usize) -> Option<Scalar> {
    rec.get(i).map(str::trim).filter(|s| !s.is_empty()).map(|s| Scalar::Str(s.to_string()))
}

/// Text of a CSV record for excerpts and hand-off.
fn row_text(rec: &csv::StringRecord) -> String {
    rec.iter().collect::<Vec<_>>().join(",")
}

struct Group {
    line: u64,
    input: OrderInput,
    raw: String,
    conflicts: Vec<String>,
}

fn parse_csv<R: BufRead>(r: R, sink: &mut ChunkSink) -> Result<u64, FileError> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(r);
    let header = rdr.headers().map_err(|e| FileError::Invalid(format!("CSV header cannot be read: {e}")))?.clone();
    let cols = columns(&header)?;
    let width = header.len();
    let mut current: Option<Group> = None;
    let mut rec = csv::StringRecord::new();
    let mut last_line = 1u64;
    let emit = |g: Group, sink: &mut ChunkSink| -> bool {
        if g.conflicts.is_empty() {
            sink.push(Unit::Csv { line: g.line, input: Box::new(g.input), raw: g.raw })
        } else {
            sink.push(Unit::Malformed { line: g.line, raw: g.raw, reason: g.conflicts.join("; ") })
        }
    };
    loop {
        let ok = match rdr.read_record(&mut rec) {
            Ok(ok) => ok,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(last_line + 1);
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(FileError::Read(e.to_string()));
                }
                if let Some(g) = current.take() {
                    if !emit(g, sink) {
                        return Ok(line);
                    }
                }
                if !sink.push(Unit::Malformed {
                    line,
                    raw: String::new(),
                    reason: format!("CSV row cannot be read: {e}"),
                }) {
                    return Ok(line);
                }
                last_line = line;
                continue;
            }
        };
        if !ok {
            break;
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(last_line + 1);
        last_line = line;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rec.len() != width {
            if let Some(g) = current.take() {
                if !emit(g, sink) {
                    return Ok(line);
                }
            }
            let reason = format!("CSV row has {} fields; the header has {width}", rec.len());
            if !sink.push(Unit::Malformed { line, raw: row_text(&rec), reason }) {
                return Ok(line);
            }
            continue;
        }
        let order_id = rec.get(cols.order_id).unwrap_or("").trim().to_string();
        let item = ItemInput {
            sku: cell(&rec, cols.sku),
            quantity: cell(&rec, cols.quantity),
            unit_price: cell(&rec, cols.unit_price),
            not_an_object: None,
        };
        let same =
            matches!(&current, Some(g) if g.input.order_id_text() == Some(order_id.as_str()) && !order_id.is_empty());
        if same {
            let g = current.as_mut().expect("checked above");
            for (name, idx, have) in [
                ("customer_id", Some(cols.customer_id), &g.input.customer_id),
                ("currency", Some(cols.currency), &g.input.currency),
                ("discount_percent", cols.discount_percent, &g.input.discount_percent),
                ("tax_rate", cols.tax_rate, &g.input.tax_rate),
            ] {
                if let Some(i) = idx {
                    if cell(&rec, i) != *have {
                        g.conflicts
                            .push(format!("line {line}: {name} differs from the order's first row (line {})", g.line));
                    }
                }
            }
            if let Some(ItemsInput::List(items)) = &mut g.input.items {
                items.push(item);
            }
            g.raw.push('\n');
            g.raw.push_str(&row_text(&rec));
        } else {
            if let Some(g) = current.take() {
                if !emit(g, sink) {
                    return Ok(line);
                }
            }
            current = Some(Group {
                line,
                input: OrderInput {
                    order_id: cell(&rec, cols.order_id),
                    customer_id: cell(&rec, cols.customer_id),
                    currency: cell(&rec, cols.currency),
                    items: Some(ItemsInput::List(vec![item])),
                    discount_percent: cols.discount_percent.and_then(|i| cell(&rec, i)),
                    tax_rate: cols.tax_rate.and_then(|i| cell(&rec, i)),
                    placed_at: None,
                },
                raw: row_text(&rec),
                conflicts: Vec::new(),
            });
        }
    }
    if let Some(g) = current.take() {
        emit(g, sink);
    }
    Ok(last_line)
}
