//! The bucket folder as a jail. Below its root every path component is opened with `openat`
//! and `O_NOFOLLOW`, one directory at a time, so no symlink is followed for reading, writing or
//! listing, even one swapped in while we walk (a check of the resolved path and then an open
//! by name would race). The root itself (the data dir's `bucket/`) is the user's choice and may
//! be a link.

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

const DIR: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// The segments of a key, as the file system sees them (`a//b` and `a/./b` are `a/b`).
fn segments(key: &str) -> impl Iterator<Item = &str> {
    key.split('/').filter(|s| !s.is_empty() && *s != ".")
}

/// Opens `root/bucket/<folders>` (no component a symlink); with `create`, missing ones are made.
fn open_dir<'k>(
    root: &Path,
    bucket: &'k str,
    folders: impl Iterator<Item = &'k str>,
    create: bool,
) -> io::Result<OwnedFd> {
    if create {
        std::fs::create_dir_all(root)?;
    }
    let mut dir = rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    for part in std::iter::once(bucket).chain(folders) {
        let next = match rustix::fs::openat(&dir, part, DIR, Mode::empty()) {
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&dir, part, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                rustix::fs::openat(&dir, part, DIR, Mode::empty())?
            }
            // O_DIRECTORY with O_NOFOLLOW answers ENOTDIR for a symlink: say what it is.
            Err(Errno::NOTDIR) if is_symlink(&dir, part) => return Err(Errno::LOOP.into()),
            other => other?,
        };
        dir = next;
    }
    Ok(dir)
}

fn is_symlink(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink)
}

/// Splits a key into its folders and its file name.
fn split(key: &str) -> io::Result<(Vec<&str>, &str)> {
    let mut parts: Vec<&str> = segments(key).collect();
    let name = parts.pop().ok_or_else(|| io::Error::from(Errno::INVAL))?;
    Ok((parts, name))
}

/// Opens an object for reading: a regular file reached without following a symlink.
pub(crate) fn open_file(root: &Path, bucket: &str, key: &str) -> io::Result<std::fs::File> {
    let (folders, name) = split(key)?;
    let dir = open_dir(root, bucket, folders.into_iter(), false)?;
    // Non-blocking, so that a FIFO planted under the key cannot hang the open.
    let fd = rustix::fs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )?;
    let kind = rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode);
    match kind {
        rustix::fs::FileType::RegularFile => {
            // Reads of a regular file never block; clear the flag all the same.
            rustix::fs::fcntl_setfl(&fd, rustix::fs::fcntl_getfl(&fd)? - OFlags::NONBLOCK)?;
            Ok(std::fs::File::from(fd))
        }
        rustix::fs::FileType::Directory => Err(Errno::ISDIR.into()),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")),
    }
}

/// Writes an object: `write` fills a new temporary file named `temp_name` beside it, which is
/// then renamed over the key, so a reader never sees half an object. No component is followed
/// through a symlink; a symlink at the key itself is replaced, not written through.
pub(crate) fn write_file<T>(
    root: &Path,
    bucket: &str,
    key: &str,
    temp_name: &str,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<T>,
) -> io::Result<T> {
    let (folders, name) = split(key)?;
    let dir = open_dir(root, bucket, folders.into_iter(), true)?;
    let fd = rustix::fs::openat(
        &dir,
        temp_name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    let mut file = std::fs::File::from(fd);
    let written = write(&mut file).and_then(|t| {
        file.sync_data()?;
        rustix::fs::renameat(&dir, temp_name, &dir, name)?;
        Ok(t)
    });
    if written.is_err() {
        let _ = rustix::fs::unlinkat(&dir, temp_name, rustix::fs::AtFlags::empty());
    }
    written
}

/// Removes files in the key's folder whose names start with `prefix` and that were last
/// modified before `older_than` (temporary files a killed writer left behind). Best effort.
pub(crate) fn remove_stale(root: &Path, bucket: &str, key: &str, prefix: &str, older_than: std::time::SystemTime) {
    let Ok((folders, _)) = split(key) else { return };
    let Ok(dir) = open_dir(root, bucket, folders.into_iter(), false) else { return };
    let Ok(listing) = rustix::fs::Dir::read_from(&dir) else { return };
    let cutoff = older_than.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    for entry in listing.flatten() {
        let Ok(name) = entry.file_name().to_str() else { continue };
        if !name.starts_with(prefix) {
            continue;
        }
        let Ok(st) = rustix::fs::statat(&dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else { continue };
        let regular = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
        if regular && st.st_mtime < cutoff {
            let _ = rustix::fs::unlinkat(&dir, name, rustix::fs::AtFlags::empty());
        }
    }
}

/// Whether a file-system error can go away by itself (a retry may help) or never will.
pub(crate) fn is_permanent(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(
            Errno::LOOP
                | Errno::NOTDIR
                | Errno::ISDIR
                | Errno::NAMETOOLONG
                | Errno::INVAL
                | Errno::ILSEQ
                | Errno::NXIO
                | Errno::FBIG
        )
    ) || e.kind() == io::ErrorKind::InvalidInput
}
