//! S3 object keys from a notification, and the folder bucket's paths: a key decodes losslessly
//! or is refused, and no key reaches anything outside the bucket's folder.

use crate::ingest::s3::{decode_key, decode_key_strict};
use crate::store::embedded::FolderBucket;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

const BUCKET: &str = "orders";

pub fn object_key(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(key) = decode_key_strict(raw) else { return };
    assert_eq!(key, decode_key(raw), "the strict decoder changed a key the lossy one reads");
    let root = PathBuf::from("/nonexistent/root");
    if let Ok(path) = FolderBucket::new(root.clone()).path_of(BUCKET, &key) {
        let inside = path.strip_prefix(root.join(BUCKET)).expect("a path outside the bucket");
        assert!(
            inside.components().all(|c| matches!(c, Component::Normal(_))),
            "{key:?} leaves the bucket as {}",
            path.display()
        );
    }
}

/// A scratch folder holding the bucket's root and, beside it, a folder nothing may touch.
struct Scratch {
    root: PathBuf,
    beside: PathBuf,
}

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("orderflow-fuzz-{}", std::process::id()));
    let (root, beside) = (dir.join("data"), dir.join("beside"));
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    std::fs::create_dir_all(&beside).unwrap();
    let scratch = Scratch { root, beside };
    plant_symlink(&scratch);
    scratch
});

/// Writes and reads the object named by a key through the folder bucket, for real: nothing
/// appears outside the bucket's folder, and what is written reads back.
pub fn object_key_write(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(key) = decode_key_strict(raw) else { return };
    let s = &*SCRATCH;
    let bucket = FolderBucket::new(s.root.clone());
    let wrote = bucket.write(BUCKET, &key, ".fuzz-temp", |f| std::io::Write::write_all(f, b"x"));
    if wrote.is_ok() {
        let mut back = Vec::new();
        let read = bucket.read(BUCKET, &key).map(|mut f| std::io::Read::read_to_end(&mut f, &mut back));
        assert!(matches!(read, Ok(Ok(1))) && back == b"x", "{key:?} was written but does not read back");
    }
    let outside: Vec<_> = std::fs::read_dir(&s.beside).unwrap().collect();
    assert!(outside.is_empty(), "{key:?} wrote outside the bucket: {outside:?}");
    let above: Vec<_> = std::fs::read_dir(&s.root).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(above, [BUCKET], "{key:?} wrote beside the bucket");
    // Start the next input from the bucket as it was.
    for entry in std::fs::read_dir(s.root.join(BUCKET)).unwrap().flatten() {
        let path = entry.path();
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
    plant_symlink(s);
}

/// Removes the scratch folder (the fuzzer's process leaves it to `scripts/fuzz.sh`).
#[cfg(test)]
pub(super) fn remove_scratch() {
    if let Some(dir) = SCRATCH.root.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A symlink inside the bucket that leads out: never to be followed.
fn plant_symlink(s: &Scratch) {
    std::os::unix::fs::symlink(&s.beside, s.root.join(BUCKET).join("out")).unwrap();
}
