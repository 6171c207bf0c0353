//! What each fuzz target checks, one function per untrusted reader (see `fuzz/` and
//! `scripts/fuzz.sh`). Compiled only for `cargo fuzz` (`--cfg fuzzing`) and for the unit tests,
//! which replay every seed and every saved crash through the same checks: a crash the fuzzer
//! found stays a test. A check fails by panicking, which libFuzzer reports as a crash.

mod events;
mod import_file;
mod log_line;
mod object_key;
mod order_body;

pub use events::{http_event, s3_event, sqs_event, stream_event};
pub use import_file::import_file;
pub use log_line::log_line;
pub use object_key::{object_key, object_key_write};
pub use order_body::order_body;

/// One target's checks: returns if the input passes, panics if not.
#[cfg(test)]
type Check = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/regressions/<name>/` know them.
#[cfg(test)]
const TARGETS: [(&str, Check); 9] = [
    ("order_body", order_body),
    ("import_file", import_file),
    ("log_line", log_line),
    ("sqs_event", sqs_event),
    ("s3_event", s3_event),
    ("stream_event", stream_event),
    ("http_event", http_event),
    ("object_key", object_key),
    ("object_key_write", object_key_write),
];

#[cfg(test)]
mod tests {
    use super::TARGETS;
    use std::path::Path;

    /// Every input saved under `fuzz/regressions/<target>/` (crashes the fuzzer found, each
    /// fixed) and every seed `scripts/fuzz.sh` starts from still passes its target's checks.
    #[test]
    fn every_saved_fuzz_input_passes_its_targets_checks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
        let mut replayed = 0;
        for (name, check) in TARGETS {
            let dir = root.join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(outcome.is_ok(), "{name}: {} fails its checks again", path.display());
                replayed += 1;
            }
        }
        super::object_key::remove_scratch();
        assert!(replayed > 0, "no saved fuzz input under {}", root.display());
    }
}
