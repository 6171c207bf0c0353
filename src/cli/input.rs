//! Orders for `enqueue` and `insert`, from a file or stdin: one JSON order, a JSON array of
//! orders, JSON Lines or CSV (each optionally gzip). Lines and CSV rows are streamed; a JSON
//! document is read whole (it has to be, to be parsed).

use crate::ingest::s3::import::{self, Chunk, Format, Unit};
use anyhow::Context as _;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;

/// One order's text as it will travel (a message body), with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    /// Line number (JSON Lines, CSV: the order's first row) or position in a JSON array.
    pub line: u64,
    pub body: String,
    /// Set when the piece cannot be an order at all (a bad CSV row, a line over the size limit).
    pub malformed: Option<String>,
}

/// The layouts an input can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One JSON order or a JSON array of orders.
    JsonDocument,
    Lines(Format),
}

/// Opens `path` (`-` = stdin), undoing gzip, and tells its layout from the extension or, for
/// stdin and unknown extensions, from its first bytes.
pub(crate) fn open(path: &str) -> anyhow::Result<(Box<dyn BufRead + Send>, Layout, Option<u64>)> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("opening {path}"))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, raw);
    let gz = buffered.fill_buf().context("reading the input")?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gz {
        Box::new(BufReader::with_capacity(256 * 1024, flate2::read::MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    };
    let by_name = if path == "-" { None } else { import::detect(path).map(|(f, _)| Layout::Lines(f)) };
    let lower = path.to_ascii_lowercase();
    let layout = match by_name {
        Some(l) => l,
        None if lower.ends_with(".json") || lower.ends_with(".json.gz") => Layout::JsonDocument,
        None => sniff(&mut reader)?,
    };
    Ok((reader, layout, size))
}

fn sniff(reader: &mut Box<dyn BufRead + Send>) -> anyhow::Result<Layout> {
    let head = reader.fill_buf().context("reading the input")?;
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let trimmed = text.trim_start();
    let first_line = trimmed.lines().next().unwrap_or("");
    Ok(match trimmed.chars().next() {
        Some('[') => Layout::JsonDocument,
        // One order per line if the first line is a whole JSON value; else a pretty-printed order.
        Some('{') if serde_json::from_str::<&RawValue>(first_line).is_ok() => Layout::Lines(Format::JsonLines),
        Some('{') => Layout::JsonDocument,
        _ if first_line.split(',').any(|h| h.trim() == "order_id") => Layout::Lines(Format::Csv),
        _ => anyhow::bail!(
            "cannot tell the input's format: expected a JSON order, a JSON array, JSON Lines, or CSV with a header naming order_id"
        ),
    })
}

/// Chunks of pieces as they are read, and the reader's end: the count of pieces, or an error
/// saying what is wrong with the input as a whole.
pub(crate) type Pieces = (mpsc::Receiver<Vec<Piece>>, tokio::task::JoinHandle<anyhow::Result<u64>>);

/// Streams the input's orders in chunks.
pub(crate) fn pieces(path: &str) -> anyhow::Result<Pieces> {
    let (reader, layout, _size) = open(path)?;
    let (tx, rx) = mpsc::channel(8);
    let handle = match layout {
        Layout::JsonDocument => tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            let mut reader = reader;
            reader.read_to_string(&mut text).context("reading the input (it must be UTF-8 JSON)")?;
            let pieces = document(&text)?;
            let n = pieces.len() as u64;
            for chunk in pieces.chunks(import::CHUNK) {
                if tx.blocking_send(chunk.to_vec()).is_err() {
                    break;
                }
            }
            Ok(n)
        }),
        Layout::Lines(format) => {
            let (mut units, parser) = import::spawn_parser(reader, format, false);
            tokio::spawn(async move {
                let mut n = 0u64;
                while let Some(chunk) = units.recv().await {
                    n += chunk.units.len() as u64;
                    let chunk = chunk.units.iter().map(|u| piece(&chunk, u)).collect();
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                parser.await.context("the input parser stopped")?.map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(n)
            })
        }
    };
    Ok((rx, handle))
}

fn piece(chunk: &Chunk, u: &Unit) -> Piece {
    let line = u.line();
    match u {
        Unit::Malformed { raw, reason, .. } => Piece { line, body: raw.clone(), malformed: Some(reason.clone()) },
        u => Piece { line, body: chunk.to_body(u), malformed: None },
    }
}

/// One JSON order or a JSON array of them, each kept as its exact text (numbers stay exact).
pub(crate) fn document(text: &str) -> anyhow::Result<Vec<Piece>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let list: Vec<&RawValue> = serde_json::from_str(trimmed).context("the input is not a valid JSON array")?;
        Ok(list
            .into_iter()
            .enumerate()
            .map(|(i, v)| Piece { line: i as u64 + 1, body: v.get().to_string(), malformed: None })
            .collect())
    } else {
        let one: &RawValue = serde_json::from_str(trimmed).context("the input is not a valid JSON order")?;
        Ok(vec![Piece { line: 1, body: one.get().to_string(), malformed: None }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_array_keeps_each_orders_exact_text() {
        let p = document(r#"[{"order_id":"a","unit_price":19.990}, {"order_id":"b"}]"#).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].body, r#"{"order_id":"a","unit_price":19.990}"#);
        assert_eq!(p[1].line, 2);
    }

    #[test]
    fn a_truncated_json_document_is_a_clear_error() {
        let e = document(r#"[{"order_id":"a""#).unwrap_err();
        assert!(format!("{e:#}").contains("not a valid JSON array"), "{e:#}");
    }
}
