//! A folder as the bucket: `<root>/<bucket>/<key>`. Keys are checked so that none can escape
//! the folder, and no symlink below the root is followed (see `jail`).

use super::jail;
use crate::store::{ObjectError, ObjectReader, ObjectStore, OpenObject};
use async_trait::async_trait;
use std::path::{Component, Path, PathBuf};

/// Whether a key names a file inside its bucket's folder: relative, no `..`, no NUL or
/// backslash, not a folder, at most 1,024 bytes (S3's limit).
pub(crate) fn key_stays_inside(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && !key.contains('\\')
        && !key.contains('\0')
        && !key.ends_with('/')
        && Path::new(key).components().all(|c| matches!(c, Component::Normal(_)))
}

/// Whether a key names a temporary file of a write in progress (or one a killed writer left):
/// `.upload-<uuid>` (`orderflow upload`) or `.<name>.tmp-<uuid>` (`put`). Never an object to import.
pub(crate) fn is_temp_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.starts_with(UPLOAD_TEMP_PREFIX) || (name.starts_with('.') && name.contains(PUT_TEMP_MARK))
}

/// The name of an upload's temporary file, beside the object until it is renamed into place.
pub(crate) const UPLOAD_TEMP_PREFIX: &str = ".upload-";
/// Marks the temporary file of a `put`: `.<name>.tmp-<uuid>`.
const PUT_TEMP_MARK: &str = ".tmp-";

#[derive(Clone)]
pub struct FolderBucket {
    root: PathBuf,
}

impl FolderBucket {
    pub fn new(root: PathBuf) -> FolderBucket {
        FolderBucket { root }
    }

    /// The file for a bucket and key, or an error if either could leave the folder. Open it
    /// through `read`/`write`, never by this path: the path says nothing about symlinks.
    pub fn path_of(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !bucket.contains("..");
        if !bucket_ok {
            return Err(ObjectError::InvalidKey(format!("{bucket}/{key}")));
        }
        if !key_stays_inside(key) {
            return Err(ObjectError::InvalidKey(key.to_string()));
        }
        Ok(self.root.join(bucket).join(key))
    }

    /// Opens an object for reading, through no symlink.
    pub(crate) fn read(&self, bucket: &str, key: &str) -> Result<std::fs::File, ObjectError> {
        self.path_of(bucket, key)?;
        jail::open_file(&self.root, bucket, key).map_err(|e| fs_error(bucket, key, e))
    }

    /// Writes an object through a temporary file named `temp_name` beside it (see
    /// `jail::write_file`), through no symlink.
    pub(crate) fn write<T>(
        &self,
        bucket: &str,
        key: &str,
        temp_name: &str,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>,
    ) -> Result<T, ObjectError> {
        self.path_of(bucket, key)?;
        jail::write_file(&self.root, bucket, key, temp_name, write).map_err(|e| fs_error(bucket, key, e))
    }

    /// Removes stale temporary files named `prefix...` in the key's folder (best effort).
    pub(crate) fn remove_stale(&self, bucket: &str, key: &str, prefix: &str, older_than: std::time::SystemTime) {
        if self.path_of(bucket, key).is_ok() {
            jail::remove_stale(&self.root, bucket, key, prefix, older_than);
        }
    }
}

/// A file-system error as an object error: missing, never usable, or worth a retry.
fn fs_error(bucket: &str, key: &str, e: std::io::Error) -> ObjectError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ObjectError::NotFound { bucket: bucket.to_string(), key: key.to_string() }
    } else if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        ObjectError::Unusable { key: key.to_string(), reason: "a symlink is in its path (not followed)".to_string() }
    } else if jail::is_permanent(&e) {
        ObjectError::Unusable { key: key.to_string(), reason: e.to_string() }
    } else {
        ObjectError::Transient(format!("{bucket}/{key}: {e}"))
    }
}

#[async_trait]
impl ObjectStore for FolderBucket {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        Ok(self.open(bucket, key).await?.reader)
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<OpenObject, ObjectError> {
        let (me, bucket, key) = (self.clone(), bucket.to_string(), key.to_string());
        let file = tokio::task::spawn_blocking(move || me.read(&bucket, &key))
            .await
            .map_err(|e| ObjectError::Transient(format!("opening the object: {e}")))??;
        // Objects are replaced whole (a temporary file renamed over the key): a new object has a
        // new modification time, and usually a new size.
        let version = file.metadata().ok().and_then(|m| {
            let modified = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(format!("{}-{}", m.len(), modified.as_nanos()))
        });
        Ok(OpenObject { reader: Box::new(tokio::fs::File::from_std(file)), version })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), ObjectError> {
        let (me, bucket, key) = (self.clone(), bucket.to_string(), key.to_string());
        tokio::task::spawn_blocking(move || {
            let name = key.rsplit('/').next().unwrap_or_default();
            let temp = format!(".{name}{PUT_TEMP_MARK}{}", uuid::Uuid::new_v4());
            me.write(&bucket, &key, &temp, |f| std::io::Write::write_all(f, &body))
        })
        .await
        .map_err(|e| ObjectError::Transient(format!("writing the object: {e}")))?
    }
}
