//! A folder as the bucket: `<root>/<bucket>/<key>`. Keys are checked so that none can escape
//! the folder.

use crate::ports::{ObjectError, ObjectReader, ObjectStore};
use async_trait::async_trait;
use std::path::{Component, Path, PathBuf};

pub struct FolderBucket {
    root: PathBuf,
}

impl FolderBucket {
    pub fn new(root: PathBuf) -> FolderBucket {
        FolderBucket { root }
    }

    /// The file for a bucket and key, or an error if either could leave the folder.
    pub fn path_of(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !bucket.contains("..");
        if !bucket_ok {
            return Err(ObjectError::InvalidKey(format!("{bucket}/{key}")));
        }
        let rel = Path::new(key);
        let key_ok = !key.is_empty()
            && key.len() <= 1024
            && !key.contains('\\')
            && !key.contains('\0')
            && !key.ends_with('/')
            && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !key_ok {
            return Err(ObjectError::InvalidKey(key.to_string()));
        }
        Ok(self.root.join(bucket).join(rel))
    }
}

#[async_trait]
impl ObjectStore for FolderBucket {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        let path = self.path_of(bucket, key)?;
        match tokio::fs::File::open(&path).await {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectError::NotFound { bucket: bucket.to_string(), key: key.to_string() })
            }
            Err(e) => Err(ObjectError::Transient(format!("{}: {e}", path.display()))),
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), ObjectError> {
        let path = self.path_of(bucket, key)?;
        let dir = path.parent().expect("a key has a parent folder").to_path_buf();
        let io = |e: std::io::Error| ObjectError::Transient(format!("{}: {e}", path.display()));
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        // Write then rename, so a reader never sees half an object.
        let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().unwrap().to_string_lossy(), uuid::Uuid::new_v4()));
        tokio::fs::write(&tmp, body).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(())
    }
}
