//! CSV files, read with bounded memory whatever the input. Physical lines are read at most
//! 256 KiB at a time, as JSON Lines lines are; a record is one line, or several joined while a
//! quoted field is open, at most 256 KiB in all. A quote still open at that cap or at the end of
//! the file makes the record's first line malformed ("unterminated quote") and reading resumes
//! at the line after it: no row is ever absorbed into another, every line is accounted for.
//! Rows with the same order_id in a row make one order.

use super::{read_bounded_line, read_failed, ChunkSink, FileError, Unit};
use crate::config::MAX_BODY_BYTES;
use crate::order::{excerpt, ItemInput, ItemsInput, OrderInput, Scalar};
use std::collections::VecDeque;
use std::io::BufRead;

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

pub(crate) const CSV_REQUIRED: [&str; 6] = ["order_id", "customer_id", "currency", "sku", "quantity", "unit_price"];

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

/// One physical line: its text (without the line break), or why it cannot be read.
enum Line {
    Text { line: u64, text: String },
    Bad { line: u64, raw: String, reason: String },
}

/// One CSV record's text (its first line's number), or a piece that cannot be one.
enum Record {
    Row { line: u64, text: String },
    Bad { line: u64, raw: String, reason: String },
}

/// Splits the input into records: see the module doc.
struct Records<R> {
    r: R,
    line_no: u64,
    buf: Vec<u8>,
    /// Lines read while a quote was open that turned out not to belong to it: read again.
    replay: VecDeque<Line>,
    max_lines: u64,
    /// Set when input was left after `max_lines` lines.
    over_limit: bool,
}

fn quotes(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'"').count()
}

impl<R: BufRead> Records<R> {
    fn new(r: R, max_lines: u64) -> Records<R> {
        Records { r, line_no: 0, buf: Vec::with_capacity(1024), replay: VecDeque::new(), max_lines, over_limit: false }
    }

    fn next_line(&mut self) -> Result<Option<Line>, FileError> {
        if let Some(line) = self.replay.pop_front() {
            return Ok(Some(line));
        }
        if self.line_no >= self.max_lines {
            let line_no = self.line_no;
            self.over_limit = !self.r.fill_buf().map_err(|e| read_failed(e, line_no))?.is_empty();
            return Ok(None);
        }
        let Some(len) =
            read_bounded_line(&mut self.r, MAX_BODY_BYTES, &mut self.buf).map_err(|e| read_failed(e, self.line_no))?
        else {
            return Ok(None);
        };
        self.line_no += 1;
        let line = self.line_no;
        let (bytes, len) = match self.buf.strip_suffix(b"\r") {
            Some(body) if self.buf.len() == len => (body, len - 1),
            _ => (&self.buf[..], len),
        };
        if len > MAX_BODY_BYTES {
            let raw = String::from_utf8_lossy(&bytes[..200.min(bytes.len())]).into_owned();
            let reason = format!("line is {len} bytes; the limit is {MAX_BODY_BYTES} bytes (256 KiB)");
            return Ok(Some(Line::Bad { line, raw, reason }));
        }
        let bytes = if line == 1 { bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes) } else { bytes };
        Ok(Some(match std::str::from_utf8(bytes) {
            Ok(text) => Line::Text { line, text: text.to_string() },
            Err(e) => Line::Bad {
                line,
                raw: String::from_utf8_lossy(bytes).into_owned(),
                reason: format!("line is not valid UTF-8: {e}"),
            },
        }))
    }

    /// The next record; `None` at the end of the input. Blank lines are skipped.
    fn next(&mut self) -> Result<Option<Record>, FileError> {
        let (line, text) = loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(Line::Bad { line, raw, reason }) => return Ok(Some(Record::Bad { line, raw, reason })),
                Some(Line::Text { text, .. }) if text.trim().is_empty() => continue,
                Some(Line::Text { line, text }) => break (line, text),
            }
        };
        if quotes(&text).is_multiple_of(2) {
            return Ok(Some(Record::Row { line, text }));
        }
        // A quoted field is open: gather lines until it closes, within the cap.
        let mut open = quotes(&text);
        let mut gathered: Vec<Line> = Vec::new();
        let mut size = text.len();
        let end = loop {
            match self.next_line()? {
                Some(Line::Text { line: l, text: more }) => {
                    size += 1 + more.len();
                    open += quotes(&more);
                    gathered.push(Line::Text { line: l, text: more });
                    if open.is_multiple_of(2) && size <= MAX_BODY_BYTES {
                        let mut joined = text;
                        for g in gathered {
                            if let Line::Text { text, .. } = g {
                                joined.push('\n');
                                joined.push_str(&text);
                            }
                        }
                        return Ok(Some(Record::Row { line, text: joined }));
                    }
                    if size > MAX_BODY_BYTES {
                        break format!("{MAX_BODY_BYTES} bytes (256 KiB)");
                    }
                }
                Some(bad @ Line::Bad { .. }) => {
                    gathered.push(bad);
                    break "a line that cannot be read".to_string();
                }
                None => break "the end of the file".to_string(),
            }
        };
        // Not closed: this line alone is refused and the lines after it are read again as rows.
        for g in gathered.into_iter().rev() {
            self.replay.push_front(g);
        }
        let reason = format!(
            "unterminated quote: the quoted field opened on line {line} is not closed before {end}; the lines after it are read as rows"
        );
        Ok(Some(Record::Bad { line, raw: excerpt(&text, 200), reason }))
    }
}

/// Reads a record's fields from its (bounded) text with the csv crate's parser, reused from
/// record to record.
struct Fields {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn new() -> Fields {
        Fields { core: csv_core::Reader::new(), out: Vec::new(), ends: Vec::new() }
    }

    /// False for a record with no fields at all.
    fn read(&mut self, text: &str, rec: &mut csv::StringRecord) -> Result<bool, String> {
        use csv_core::ReadRecordResult as R;
        // Unquoting never lengthens: the text's size bounds the output and the field count.
        self.out.resize(text.len() + 1, 0);
        self.ends.resize(text.len() + 2, 0);
        self.core.reset();
        let input = text.as_bytes();
        let (mut res, nin, mut nout, mut nend) = self.core.read_record(input, &mut self.out, &mut self.ends);
        if res == R::Record && nin < input.len() {
            return Err(
                "CSV row cannot be read: its quotes do not pair up (a line break outside a quoted field)".into()
            );
        }
        if res == R::InputEmpty {
            // The end of the text is the end of the record.
            let (r, _, o, e) = self.core.read_record(&[], &mut self.out[nout..], &mut self.ends[nend..]);
            (res, nout, nend) = (r, nout + o, nend + e);
        }
        rec.clear();
        match res {
            R::Record => {}
            R::End => return Ok(false),
            other => return Err(format!("CSV row cannot be read ({other:?})")),
        }
        let mut start = 0;
        for &end in &self.ends[..nend] {
            let field = std::str::from_utf8(&self.out[start..end.min(nout)])
                .map_err(|e| format!("CSV row cannot be read: {e}"))?;
            rec.push_field(field);
            start = end;
        }
        Ok(true)
    }
}

pub(super) fn parse_csv<R: BufRead>(r: R, sink: &mut ChunkSink, max_lines: u64) -> Result<u64, FileError> {
    let mut records = Records::new(r, max_lines);
    let mut reader = Fields::new();
    let mut header = csv::StringRecord::new();
    loop {
        match records.next()? {
            None => return Err(FileError::Invalid("CSV header cannot be read: the file is empty".to_string())),
            Some(Record::Bad { reason, .. }) => {
                return Err(FileError::Invalid(format!("CSV header cannot be read: {reason}")))
            }
            Some(Record::Row { text, .. }) => match reader.read(&text, &mut header) {
                Ok(true) => break,
                Ok(false) => continue,
                Err(e) => return Err(FileError::Invalid(format!("CSV header cannot be read: {e}"))),
            },
        }
    }
    let cols = columns(&header)?;
    let width = header.len();
    let mut current: Option<Group> = None;
    let mut rec = csv::StringRecord::new();
    let emit = |g: Group, sink: &mut ChunkSink| -> bool {
        if g.conflicts.is_empty() {
            sink.push(Unit::Csv { line: g.line, input: Box::new(g.input), raw: g.raw })
        } else {
            sink.push(Unit::Malformed { line: g.line, raw: g.raw, reason: g.conflicts.join("; ") })
        }
    };
    while let Some(record) = records.next()? {
        let (line, text) = match record {
            Record::Row { line, text } => (line, text),
            Record::Bad { line, raw, reason } => {
                if let Some(g) = current.take() {
                    if !emit(g, sink) {
                        return Ok(records.line_no);
                    }
                }
                if !sink.push(Unit::Malformed { line, raw, reason }) {
                    return Ok(records.line_no);
                }
                continue;
            }
        };
        let problem = match reader.read(&text, &mut rec) {
            Ok(true) if rec.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(true) if rec.len() != width => Some(format!("CSV row has {} fields; the header has {width}", rec.len())),
            Ok(true) => None,
            Ok(false) => continue,
            Err(reason) => Some(reason),
        };
        if let Some(reason) = problem {
            if let Some(g) = current.take() {
                if !emit(g, sink) {
                    return Ok(records.line_no);
                }
            }
            if !sink.push(Unit::Malformed { line, raw: excerpt(&text, 200), reason }) {
                return Ok(records.line_no);
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
                    return Ok(records.line_no);
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
    if records.over_limit {
        return Err(super::limits::too_many_lines(max_lines));
    }
    Ok(records.line_no)
}

#[cfg(test)]
mod tests {
    use crate::ingest::s3::import::{spawn_parser, Format, Unit, CHUNK_TEXT_BYTES};
    use std::io::Read;

    const HEADER: &str = "order_id,customer_id,currency,sku,quantity,unit_price";

    /// (line, Some(order_id)) for each order, (line, None) for each malformed piece, and the
    /// parser's result.
    async fn units(reader: impl Read + Send + 'static) -> (Vec<(u64, Option<String>, String)>, Result<u64, String>) {
        let (mut rx, parser) = spawn_parser(reader, Format::Csv, false);
        let mut out = Vec::new();
        while let Some(chunk) = rx.recv().await {
            for u in &chunk.units {
                match u {
                    Unit::Csv { line, input, raw } => {
                        assert!(raw.len() <= CHUNK_TEXT_BYTES);
                        out.push((*line, input.order_id_text().map(str::to_string), String::new()))
                    }
                    Unit::Malformed { line, raw, reason } => {
                        assert!(raw.chars().count() <= 201, "a malformed piece keeps only its start");
                        out.push((*line, None, reason.clone()))
                    }
                    Unit::Json { .. } => panic!("a CSV gives no JSON units"),
                }
            }
        }
        (out, parser.await.unwrap().map_err(|e| e.to_string()))
    }

    fn row(n: usize) -> String {
        format!("o-{n},c,USD,S,1,1.00\n")
    }

    #[tokio::test]
    async fn an_unclosed_quote_in_row_2_of_10000_refuses_that_row_only_and_every_other_row_is_read() {
        let mut file = format!("{HEADER}\n");
        for n in 1..=10_000 {
            file.push_str(&if n == 2 { "\"SKU,1,1.00,,\n".to_string() } else { row(n) });
        }
        let (got, result) = units(std::io::Cursor::new(file.into_bytes())).await;
        assert_eq!(result, Ok(10_001));
        assert_eq!(got.len(), 10_000, "one unit per row");
        for (i, (line, id, reason)) in got.iter().enumerate() {
            assert_eq!(*line, i as u64 + 2, "every line once, in order");
            if *line == 3 {
                assert_eq!(*id, None);
                assert!(reason.starts_with("unterminated quote: the quoted field opened on line 3"), "{reason}");
            } else {
                assert_eq!(id.as_deref(), Some(format!("o-{}", line - 1).as_str()));
            }
        }
    }

    #[tokio::test]
    async fn a_quoted_field_may_span_lines_and_reads_as_one_row() {
        let file = format!("{HEADER}\no-1,\"c\nstill c\",USD,S,1,1.00\no-2,c,USD,S,1,1.00\n");
        let (got, result) = units(std::io::Cursor::new(file.into_bytes())).await;
        assert_eq!(result, Ok(4));
        let ids: Vec<_> = got.iter().map(|(l, id, _)| (*l, id.clone())).collect();
        assert_eq!(ids, vec![(2, Some("o-1".to_string())), (4, Some("o-2".to_string()))]);
    }

    /// Generates a CSV without holding it: a header, `rows` rows, a line of `long` bytes with a
    /// quote opened at its start, and `rows` rows more; counts what was read.
    struct Generated {
        parts: Vec<Vec<u8>>,
        long: usize,
        at: usize,
        long_done: usize,
        pub read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = if self.at == 1 && self.long_done < self.long {
                let n = buf.len().min(self.long - self.long_done);
                buf[..n].fill(b'x');
                if self.long_done == 0 {
                    buf[0] = b'"';
                }
                self.long_done += n;
                n
            } else {
                while self.parts.get(self.at).is_some_and(Vec::is_empty) {
                    self.at += 1;
                }
                let Some(part) = self.parts.get_mut(self.at) else { return Ok(0) };
                let n = buf.len().min(part.len());
                buf[..n].copy_from_slice(&part[..n]);
                part.drain(..n);
                if part.is_empty() {
                    self.at += 1;
                }
                n
            };
            self.read.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            Ok(n)
        }
    }

    #[tokio::test]
    async fn a_20_mb_line_with_an_open_quote_is_refused_by_length_and_the_rows_around_it_are_read() {
        let before: String = std::iter::once(format!("{HEADER}\n")).chain((1..=3).map(row)).collect();
        let after: String = std::iter::once("\n".to_string()).chain((4..=6).map(row)).collect();
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let long = 20 * 1024 * 1024;
        let gen = Generated {
            parts: vec![before.clone().into_bytes(), Vec::new(), after.clone().into_bytes()],
            long,
            at: 0,
            long_done: 0,
            read: read.clone(),
        };
        let (got, result) = units(gen).await;
        assert_eq!(result, Ok(8));
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), before.len() + long + after.len());
        let lines: Vec<u64> = got.iter().map(|(l, ..)| *l).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(got[3].2, format!("line is {long} bytes; the limit is 262144 bytes (256 KiB)"));
    }

    #[tokio::test]
    async fn an_open_quote_before_megabytes_of_rows_ends_at_the_cap_and_every_row_after_it_is_read() {
        let mut file = format!("{HEADER}\n\"open,c,USD,S,1,1.00\n");
        let n = 150_000;
        for i in 1..=n {
            file.push_str(&row(i));
        }
        assert!(file.len() > 3_000_000);
        let (got, result) = units(std::io::Cursor::new(file.into_bytes())).await;
        assert_eq!(result, Ok(n as u64 + 2));
        assert_eq!(got.len(), n + 1);
        assert!(got[0].2.contains("is not closed before 262144 bytes (256 KiB)"), "{}", got[0].2);
        assert!(got[1..].iter().enumerate().all(|(i, (l, id, _))| *l == i as u64 + 3 && id.is_some()));
    }
}
