//! Per-object limits of an import (`config::ObjectLimits`): a reader that stops at the byte cap
//! (counted after decompression, so a gzip bomb stops there) and the wording of the stop.

use super::FileError;
use crate::config::{ENV_MAX_OBJECT_BYTES, ENV_MAX_OBJECT_LINES};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Reads at most `left` bytes, then reports the end of input and sets `hit`.
pub(super) struct Capped<R> {
    pub(super) inner: R,
    pub(super) left: u64,
    pub(super) hit: Arc<AtomicBool>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file of exactly the cap from a larger one.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.hit.store(true, Ordering::Relaxed);
            }
            return Ok(0);
        }
        let room = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

pub(super) fn too_many_bytes(max: u64, lines: u64) -> FileError {
    FileError::Limit {
        lines,
        reason: format!(
            "the object is larger than {max} bytes (decompressed), the limit set by {ENV_MAX_OBJECT_BYTES}: the import stopped there, after line {lines} (which may be cut short); the lines before it are accounted for"
        ),
    }
}

pub(super) fn too_many_lines(max: u64) -> FileError {
    FileError::Limit {
        lines: max,
        reason: format!(
            "the object has more than {max} lines, the limit set by {ENV_MAX_OBJECT_LINES}: the import stopped after line {max}; the lines before it are accounted for"
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::ObjectLimits;
    use crate::ingest::s3::import::{spawn_prepared, FileError, Format, PrepareWith};
    use std::io::Write;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    /// The lines of every unit the import prepared, and how it finished.
    async fn import(
        bytes: Vec<u8>,
        format: Format,
        gz: bool,
        limits: ObjectLimits,
    ) -> (Vec<u64>, Result<u64, FileError>) {
        let with = PrepareWith {
            object: "b/incoming/x".into(),
            received_at: "2026-12-02T00:00:00.000Z".into(),
            limits,
            skip_before: 0,
        };
        let mut chunks = spawn_prepared(std::io::Cursor::new(bytes), format, gz, with, 2);
        let mut lines = Vec::new();
        while let Some(c) = chunks.next().await {
            lines.extend(c.chunk.units.iter().map(|u| u.line()));
        }
        (lines, chunks.finish().await)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gzip_bomb_stops_at_the_byte_cap_and_every_line_before_it_is_accounted_for() {
        let line = b"{\"order_id\":\"junk\"}\n";
        let text: Vec<u8> = line.iter().copied().cycle().take(line.len() * 2_000_000).collect();
        let bomb = gzip(&text);
        assert!(bomb.len() < 200_000, "{} bytes of gzip", bomb.len());
        let limits = ObjectLimits { bytes: 1_000_000, lines: u64::MAX };
        let (lines, result) = import(bomb, Format::JsonLines, true, limits).await;
        let read = (1_000_000 / line.len()) as u64;
        match result {
            Err(FileError::Limit { lines: n, reason }) => {
                assert_eq!(n, read, "the lines read up to the cap");
                assert!(reason.contains("larger than 1000000 bytes (decompressed)"), "{reason}");
                assert!(reason.contains("ORDERFLOW_MAX_OBJECT_BYTES"), "{reason}");
            }
            other => panic!("expected the byte limit, got {other:?}"),
        }
        assert_eq!(lines, (1..=read).collect::<Vec<_>>(), "every line read is accounted for, once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_object_over_the_line_cap_stops_there_in_either_format() {
        let jsonl: String = (1..=1000).map(|n| format!("{{\"order_id\":\"o-{n}\"}}\n")).collect();
        let csv: String = std::iter::once("order_id,customer_id,currency,sku,quantity,unit_price\n".to_string())
            .chain((1..=1000).map(|n| format!("o-{n},c,USD,S,1,1.00\n")))
            .collect();
        let limits = ObjectLimits { bytes: u64::MAX, lines: 100 };
        for (text, format, units) in [(jsonl, Format::JsonLines, 100), (csv, Format::Csv, 99)] {
            let (lines, result) = import(text.into_bytes(), format, false, limits).await;
            match result {
                Err(FileError::Limit { lines: 100, reason }) => {
                    assert!(reason.contains("more than 100 lines") && reason.contains("ORDERFLOW_MAX_OBJECT_LINES"))
                }
                other => panic!("{format:?}: expected the line limit, got {other:?}"),
            }
            assert_eq!(lines.len(), units, "{format:?}");
            assert_eq!(lines.last(), Some(&100), "{format:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_object_of_exactly_the_limits_is_read_whole() {
        let text: String = (1..=100).map(|n| format!("{{\"order_id\":\"o-{n:03}\"}}\n")).collect();
        let limits = ObjectLimits { bytes: text.len() as u64, lines: 100 };
        let (lines, result) = import(text.into_bytes(), Format::JsonLines, false, limits).await;
        assert_eq!(result, Ok(100));
        assert_eq!(lines.len(), 100);
    }
}
