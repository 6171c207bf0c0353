//! Reading lines one by one: from a buffered reader (any size, one bounded line buffer) or fed
//! by the caller.

use super::{Aggregator, MAX_LINE_BYTES};
use crate::billing::logparse::parse_line;
use std::io::BufRead;

impl Aggregator {
    /// Reads lines until the end of `r`: any size, one bounded line buffer.
    pub fn read<R: BufRead>(&mut self, mut r: R) -> std::io::Result<()> {
        let mut partial: Vec<u8> = Vec::new();
        let mut too_long = false;
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if too_long {
                    self.count_too_long();
                } else if !partial.is_empty() {
                    self.feed_line_bytes(&partial);
                }
                return Ok(());
            }
            let (used, line_end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, Some(i)),
                None => (buf.len(), None),
            };
            match line_end {
                Some(i) if partial.is_empty() && !too_long => self.feed_line_bytes(&buf[..i]),
                Some(i) => {
                    if too_long || partial.len() + i > MAX_LINE_BYTES {
                        self.count_too_long();
                    } else {
                        partial.extend_from_slice(&buf[..i]);
                        self.feed_line_bytes(&partial);
                    }
                    partial.clear();
                    too_long = false;
                }
                None => {
                    if !too_long && partial.len() + buf.len() <= MAX_LINE_BYTES {
                        partial.extend_from_slice(buf);
                    } else {
                        too_long = true;
                        partial = Vec::new();
                    }
                }
            }
            self.lines.bytes += used as u64;
            r.consume(used);
        }
    }

    fn count_too_long(&mut self) {
        self.lines.total += 1;
        self.lines.malformed += 1;
    }

    /// A line of [`Aggregator::read`], whose bytes it counts itself.
    fn feed_line_bytes(&mut self, line: &[u8]) {
        match std::str::from_utf8(line) {
            Ok(s) => {
                self.lines.total += 1;
                self.feed_line(parse_line(s));
            }
            Err(_) => {
                self.lines.total += 1;
                self.lines.other += 1;
            }
        }
    }

    /// Reads one line (without its newline).
    pub(crate) fn feed(&mut self, line: &str) {
        self.lines.bytes += line.len() as u64 + 1;
        self.lines.total += 1;
        self.feed_line(parse_line(line));
    }
}
