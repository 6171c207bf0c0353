//! Reading on several threads with the same result as [`Aggregator::read`] line by line: a reader
//! thread cuts the input into blocks of whole lines, worker threads parse the blocks, and the
//! calling thread folds the parsed lines in their order (the fold is order-dependent: request
//! ids waiting for their other half, the first function seen per log stream).

use super::{Aggregator, MAX_LINE_BYTES};
use crate::billing::logparse::{parse_line, BilledInvocation, CustomerPart, EmfRecord, Line, Prefix};
use crate::order::Counts;
use crate::pricing::Arch;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// A slice of a block: offset and length.
#[derive(Clone, Copy)]
struct Span(u32, u32);

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.0 as usize..(self.0 + self.1) as usize
    }
}

/// A line of a block, parsed; strings are spans of the block.
enum Item {
    /// Read it again on the folding thread (rare: strings with escapes, i.e. not borrowed).
    Again(Span),
    TooLong,
    NotUtf8,
    Other,
    Malformed,
    Emf(EmfItem),
    Billed(BilledItem),
}

struct EmfItem {
    line: Span,
    stream: Option<Span>,
    request_id: Span,
    function: Span,
    timestamp_ms: Option<i64>,
    cold_start: bool,
    memory_mb: u32,
    arch: Arch,
    billed_ms: u64,
    cost_usd: Decimal,
    counts: Counts,
    customers: (u32, u32),
    line_bytes: u64,
}

struct BilledItem {
    line: Span,
    stream: Option<Span>,
    request_id: Span,
    timestamp_ms: Option<i64>,
    duration_ms: Decimal,
    billed_ms: u64,
    memory_mb: u32,
    max_memory_used_mb: Option<u32>,
    init_duration_ms: Option<Decimal>,
    json: bool,
}

/// Whole lines (each ending in `\n`, but the input's last one may not), or one line too
/// long to keep; then what the lines say. Blocks go round (reader, worker, folder, reader)
/// so that their buffers are reused.
#[derive(Default)]
pub(super) struct Block {
    bytes: Vec<u8>,
    /// The bytes, when all of them are UTF-8 (the usual case: checked once per block).
    text: Option<String>,
    too_long: bool,
    items: Vec<Item>,
    customers: Vec<(Span, u64, Decimal)>,
}

impl Block {
    fn data(&self) -> &[u8] {
        match &self.text {
            Some(t) => t.as_bytes(),
            None => &self.bytes,
        }
    }

    fn str(&self, s: Span) -> Option<&str> {
        match &self.text {
            Some(t) => t.get(s.range()),
            None => std::str::from_utf8(self.bytes.get(s.range())?).ok(),
        }
    }

    /// Empty, keeping the buffers.
    fn recycle(&mut self) {
        if let Some(t) = self.text.take() {
            self.bytes = t.into_bytes();
        }
        self.bytes.clear();
        self.too_long = false;
        self.items.clear();
        self.customers.clear();
    }
}

/// Where `s` lies in `data`; `None` if it is not a slice of it (a string the parser had to
/// build, e.g. with escapes: a separate allocation cannot overlap the block).
fn span(data: &[u8], s: &str) -> Option<Span> {
    let off = (s.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    (off + s.len() <= data.len()).then_some(Span(off as u32, s.len() as u32))
}

fn stream(data: &[u8], p: &Prefix<'_>) -> Option<Option<Span>> {
    match p.stream {
        None => Some(None),
        Some(s) => span(data, s).map(Some),
    }
}

fn item(data: &[u8], line: Span, text: &str, customers: &mut Vec<(Span, u64, Decimal)>) -> Item {
    let mark = customers.len();
    let read = match parse_line(text) {
        Line::Other => return Item::Other,
        Line::Malformed => return Item::Malformed,
        Line::Emf(prefix, e) => (|| {
            for c in &e.customers {
                customers.push((span(data, &c.customer)?, c.records, c.cost_usd));
            }
            Some(Item::Emf(EmfItem {
                line,
                stream: stream(data, &prefix)?,
                request_id: span(data, &e.request_id)?,
                function: span(data, &e.function)?,
                timestamp_ms: e.timestamp_ms,
                cold_start: e.cold_start,
                memory_mb: e.memory_mb,
                arch: e.arch,
                billed_ms: e.billed_ms,
                cost_usd: e.cost_usd,
                counts: e.counts,
                customers: (mark as u32, customers.len() as u32),
                line_bytes: e.line_bytes,
            }))
        })(),
        Line::Billed { prefix, record: r, json } => (|| {
            Some(Item::Billed(BilledItem {
                line,
                stream: stream(data, &prefix)?,
                request_id: span(data, &r.request_id)?,
                timestamp_ms: r.timestamp_ms,
                duration_ms: r.duration_ms,
                billed_ms: r.billed_ms,
                memory_mb: r.memory_mb,
                max_memory_used_mb: r.max_memory_used_mb,
                init_duration_ms: r.init_duration_ms,
                json,
            }))
        })(),
    };
    read.unwrap_or_else(|| {
        customers.truncate(mark);
        Item::Again(line)
    })
}

fn parse(mut b: Block) -> Block {
    if b.too_long {
        b.items.push(Item::TooLong);
        return b;
    }
    match String::from_utf8(std::mem::take(&mut b.bytes)) {
        Ok(t) => b.text = Some(t),
        Err(e) => b.bytes = e.into_bytes(),
    }
    let (mut items, mut customers) = (std::mem::take(&mut b.items), std::mem::take(&mut b.customers));
    let data = b.data();
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = Span(start as u32, (end - start) as u32);
        items.push(if line.1 as usize > MAX_LINE_BYTES {
            Item::TooLong
        } else {
            match b.str(line) {
                Some(text) => item(data, line, text, &mut customers),
                None => Item::NotUtf8,
            }
        });
        start = end + 1;
    }
    b.items = items;
    b.customers = customers;
    b
}

/// Reads `r` into blocks of whole lines of about `size` bytes; a line longer than
/// [`MAX_LINE_BYTES`] becomes a `too_long` block of its own, without being kept.
fn cut<R: Read>(mut r: R, size: usize, out: &[SyncSender<Block>], spare: &Receiver<Block>) -> std::io::Result<u64> {
    let mut carry: Vec<u8> = Vec::new();
    let mut skipping = false;
    let mut n = 0usize;
    let mut read = 0u64;
    let send = |n: &mut usize, b: Block| -> bool {
        let ok = out[*n % out.len()].send(b).is_ok();
        *n += 1;
        ok
    };
    let fresh = || {
        let mut b = spare.try_recv().unwrap_or_default();
        b.recycle();
        b
    };
    loop {
        // The carry (the start of a line, no newline in it) begins the next block.
        let mut block = fresh();
        if carry.len() > size {
            std::mem::swap(&mut block.bytes, &mut carry);
        } else {
            block.bytes.extend_from_slice(&carry);
        }
        carry.clear();
        let buf = &mut block.bytes;
        let old = buf.len();
        // Exactly: `read_to_end` would double a full buffer.
        buf.reserve_exact(size);
        let got = (&mut r).take(size as u64).read_to_end(buf)?;
        read += got as u64;
        let eof = got < size;
        if skipping {
            // The rest of a line too long to keep: drop it up to its newline.
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    skipping = false;
                    carry.extend_from_slice(&buf[i + 1..]);
                }
                None if !eof => continue,
                None => {}
            }
            block.recycle();
            block.too_long = true;
            if !send(&mut n, block) || (eof && carry.is_empty()) {
                return Ok(read);
            }
            continue;
        }
        if eof {
            if !buf.is_empty() && !send(&mut n, block) {
                return Ok(read);
            }
            return Ok(read);
        }
        match memchr::memrchr(b'\n', &buf[old..]).map(|i| old + i) {
            Some(i) => {
                carry.extend_from_slice(&buf[i + 1..]);
                buf.truncate(i + 1);
                if !send(&mut n, block) {
                    return Ok(read);
                }
            }
            None if buf.len() > MAX_LINE_BYTES => skipping = true,
            None => carry = std::mem::take(buf),
        }
    }
}

impl Aggregator {
    /// Reads lines until the end of `r` like [`Aggregator::read`] over a buffered reader
    /// (a line longer than [`MAX_LINE_BYTES`] is counted as malformed), parsing on
    /// `workers` threads while this one folds. Memory: a few blocks of `block_bytes` per
    /// worker.
    pub(crate) fn read_parallel<R: Read + Send>(
        &mut self,
        r: R,
        workers: usize,
        block_bytes: usize,
    ) -> std::io::Result<()> {
        let workers = workers.max(1);
        std::thread::scope(|scope| {
            let (spare_tx, spare_rx) = sync_channel::<Block>(workers + 2);
            let mut to_workers = Vec::new();
            let mut from_workers = Vec::new();
            for _ in 0..workers {
                let (tx, rx) = sync_channel::<Block>(1);
                let (ptx, prx) = sync_channel::<Block>(1);
                scope.spawn(move || {
                    for b in rx {
                        if ptx.send(parse(b)).is_err() {
                            return;
                        }
                    }
                });
                to_workers.push(tx);
                from_workers.push(prx);
            }
            let reader = scope.spawn(move || cut(r, block_bytes.max(1), &to_workers, &spare_rx));
            let mut n = 0;
            while let Ok(b) = from_workers[n % workers].recv() {
                self.fold(&b);
                let _ = spare_tx.try_send(b);
                n += 1;
            }
            drop(from_workers);
            let read = reader.join().expect("the reader thread does not panic")?;
            self.lines.bytes += read;
            Ok(())
        })
    }

    fn fold(&mut self, b: &Block) {
        for item in &b.items {
            self.lines.total += 1;
            match item {
                Item::TooLong | Item::Malformed => self.lines.malformed += 1,
                Item::NotUtf8 | Item::Other => self.lines.other += 1,
                Item::Again(s) => self.feed_again(b, *s),
                Item::Emf(e) => match emf_line(b, e) {
                    Some(line) => self.feed_line(line),
                    None => self.feed_again(b, e.line),
                },
                Item::Billed(r) => match report_line(b, r) {
                    Some(line) => self.feed_line(line),
                    None => self.feed_again(b, r.line),
                },
            }
        }
    }

    fn feed_again(&mut self, b: &Block, s: Span) {
        // A line the worker read as UTF-8: read it here.
        match b.str(s) {
            Some(t) => self.feed_line(parse_line(t)),
            None => self.lines.other += 1,
        }
    }
}

fn stream_str(b: &Block, s: Option<Span>) -> Option<Option<&str>> {
    match s {
        Some(s) => b.str(s).map(Some),
        None => Some(None),
    }
}

fn emf_line<'a>(b: &'a Block, e: &EmfItem) -> Option<Line<'a>> {
    let mut customers = Vec::with_capacity((e.customers.1 - e.customers.0) as usize);
    for (name, records, cost_usd) in &b.customers[e.customers.0 as usize..e.customers.1 as usize] {
        customers.push(CustomerPart { customer: Cow::Borrowed(b.str(*name)?), records: *records, cost_usd: *cost_usd });
    }
    Some(Line::Emf(
        Prefix { timestamp_ms: None, stream: stream_str(b, e.stream)? },
        EmfRecord {
            request_id: Cow::Borrowed(b.str(e.request_id)?),
            function: Cow::Borrowed(b.str(e.function)?),
            timestamp_ms: e.timestamp_ms,
            cold_start: e.cold_start,
            memory_mb: e.memory_mb,
            arch: e.arch,
            billed_ms: e.billed_ms,
            cost_usd: e.cost_usd,
            counts: e.counts,
            customers,
            line_bytes: e.line_bytes,
        },
    ))
}

fn report_line<'a>(b: &'a Block, r: &BilledItem) -> Option<Line<'a>> {
    Some(Line::Billed {
        prefix: Prefix { timestamp_ms: None, stream: stream_str(b, r.stream)? },
        record: BilledInvocation {
            request_id: Cow::Borrowed(b.str(r.request_id)?),
            timestamp_ms: r.timestamp_ms,
            duration_ms: r.duration_ms,
            billed_ms: r.billed_ms,
            memory_mb: r.memory_mb,
            max_memory_used_mb: r.max_memory_used_mb,
            init_duration_ms: r.init_duration_ms,
        },
        json: r.json,
    })
}
