//! The bulk-file reader (JSON Lines and CSV, plain or gzip): the same units whatever sizes the
//! object arrives in, and every line accounted for exactly once.
//!
//! Input: a flags byte (bit 0 CSV, bit 1 gzip the rest, bit 2 the rest is already gzip, bit 3
//! small per-object limits), a byte that seeds the read sizes, then the object.

use crate::config::ObjectLimits;
use crate::ingest::s3::import::{read_units, Chunk, FileError, Format, PrepareWith};
use std::io::{Read, Write};

pub fn import_file(data: &[u8]) {
    let [flags, seed, object @ ..] = data else { return };
    let format = if flags & 1 == 1 { Format::Csv } else { Format::JsonLines };
    let (bytes, gzip) = match (flags & 2 != 0, flags & 4 != 0) {
        (true, _) => (gzip(object), true),
        (false, raw_gzip) => (object.to_vec(), raw_gzip),
    };
    let limits = if flags & 8 != 0 { ObjectLimits { bytes: 300, lines: 6 } } else { ObjectLimits::default() };

    let whole = read(std::io::Cursor::new(bytes.clone()), format, gzip, limits);
    let pieces = read(Pieces { bytes, at: 0, state: u64::from(*seed) | 0x100 }, format, gzip, limits);
    let undecodable = flags & 6 == 4;
    if undecodable && whole != pieces {
        // Arbitrary bytes as gzip: how much the decoder gives out before it finds the stream
        // corrupt depends on the sizes it is fed. Both reads must stop, and for good.
        for (_, result) in [&whole, &pieces] {
            assert!(
                matches!(result, Err(FileError::Corrupt { .. } | FileError::Invalid(_) | FileError::Limit { .. })),
                "a gzip stream that cannot be decoded must be refused for good: {result:?}"
            );
        }
    } else {
        assert_eq!(whole, pieces, "the units depend on the sizes the object was read in");
    }

    let (chunks, result) = whole;
    let lines: Vec<u64> = chunks.iter().flat_map(|c| c.units.iter().map(|u| u.line())).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "units out of file order or twice: {lines:?}");
    let last_read = match &result {
        Ok(n) | Err(FileError::Limit { lines: n, .. } | FileError::Corrupt { lines: n, .. }) => *n,
        Err(_) => return,
    };
    assert!(lines.iter().all(|&l| (1..=last_read).contains(&l)), "a unit past the lines read: {lines:?} > {last_read}");
    if let (Ok(n), false) = (&result, gzip) {
        assert_eq!(*n, physical_lines(object), "lines counted");
        if format == Format::JsonLines {
            assert_eq!(lines, non_blank_lines(object), "JSON Lines lines not accounted for exactly once");
        }
    }
    let with = PrepareWith {
        object: "orders/incoming/x".into(),
        received_at: "2026-12-03T00:00:00.000Z".into(),
        limits,
        skip_before: 0,
    };
    for chunk in chunks {
        let units = chunk.units.len();
        assert_eq!(with.prepare_chunk(chunk).prepared.len(), units, "a unit without its record");
    }
}

fn read<R: Read>(reader: R, format: Format, gzip: bool, limits: ObjectLimits) -> (Vec<Chunk>, Result<u64, FileError>) {
    let chunks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = chunks.clone();
    let result = read_units(
        reader,
        format,
        gzip,
        limits,
        Box::new(move |chunk| {
            sink.lock().unwrap().push(chunk);
            true
        }),
    );
    let chunks = std::mem::take(&mut *chunks.lock().unwrap());
    (chunks, result)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The object, handed out 1 to 17 bytes per read (an xorshift picks the sizes).
struct Pieces {
    bytes: Vec<u8>,
    at: usize,
    state: u64,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let n = (1 + (self.state % 17) as usize).min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn physical_lines(object: &[u8]) -> u64 {
    let breaks = object.iter().filter(|&&b| b == b'\n').count() as u64;
    breaks + u64::from(!object.is_empty() && !object.ends_with(b"\n"))
}

/// The lines of a JSON Lines object that must become units: all but the blank ones.
fn non_blank_lines(object: &[u8]) -> Vec<u64> {
    let mut lines = Vec::new();
    let mut pieces: Vec<&[u8]> = object.split(|&b| b == b'\n').collect();
    if object.ends_with(b"\n") || object.is_empty() {
        pieces.pop();
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
        let piece = if i == 0 { piece.strip_prefix("\u{feff}".as_bytes()).unwrap_or(piece) } else { piece };
        let blank = std::str::from_utf8(piece).is_ok_and(|s| s.trim().is_empty());
        if !blank {
            lines.push(i as u64 + 1);
        }
    }
    lines
}
