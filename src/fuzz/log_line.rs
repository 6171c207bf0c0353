//! A log line `orderflow report` reads (EMF, REPORT as text or JSON, anything else): never a
//! panic; the fast EMF scanner reads what serde_json reads or leaves the line to it; the fast
//! timestamp reader agrees with chrono.

use crate::billing::logparse::{parse_line, parse_prefix, Line};
use crate::codec::emf::{fast, parse_emf_with_serde};

pub fn log_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let parsed = parse_line(line);
    if let Some(i) = line.find('{') {
        let json = line[i..].trim_end_matches(['\r', '\n', ' ', '\t']);
        if fast::emf(json).is_ok() {
            let ts = parse_prefix(&line[..i]).timestamp_ms;
            assert_eq!(
                crate::codec::emf::parse_emf(json, ts),
                parse_emf_with_serde(json, ts),
                "the fast EMF scanner disagrees with serde_json on {json:?}"
            );
        }
    }
    if let Line::Billed { record, .. } = &parsed {
        assert!(!record.request_id.is_empty(), "a REPORT line without a request id was read: {line:?}");
    }
    // The first token of a prefix, read as `aws logs tail` prints it: our reader or chrono's.
    if let Some(token) = line.split(char::is_whitespace).next().filter(|t| !t.is_empty()) {
        let ours = parse_prefix(token).timestamp_ms;
        let chrono = chrono::DateTime::parse_from_rfc3339(token).ok().map(|t| t.timestamp_millis());
        assert_eq!(ours, chrono, "the timestamp reader disagrees with chrono on {token:?}");
    }
}
