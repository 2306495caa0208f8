//! Where file bytes live: one storage interface, `FileStore`, with a local
//! folder by default (`LOUPAN_DATA_DIR/files`) and room for an S3-compatible
//! store without touching the modules. What a file is and belongs to is a row
//! the owning area keeps (`inventory::files`); the store only sees opaque keys.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::io::AsyncRead;

use crate::ServiceError;

/// A file's bytes as they are read, and how many there are.
pub struct FileBody {
    pub len: u64,
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for FileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBody").field("len", &self.len).finish_non_exhaustive()
    }
}

/// What a `FileStore` call gives back, later.
pub type FileFuture<'a, T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send + 'a>>;

/// Where file bytes live: a local folder here, an S3-compatible bucket in a
/// group deployment. Keys are made by Loupan (`2026/<id>`), never by users.
/// Bodies stream both ways, so neither side holds a large file in memory.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// Stores everything `body` yields under `key`, all or nothing; returns the length.
    fn put<'a>(&'a self, key: &'a str, body: Pin<Box<dyn AsyncRead + Send + 'a>>) -> FileFuture<'a, u64>;
    /// The bytes under `key` (`NotFound` if there are none).
    fn get<'a>(&'a self, key: &'a str) -> FileFuture<'a, FileBody>;
    /// The length of the file under `key`, if there is one, without reading it.
    fn head<'a>(&'a self, key: &'a str) -> FileFuture<'a, Option<u64>>;
    /// Removes the file under `key`; a missing file is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> FileFuture<'a, ()>;
    /// Every key in the store, for backups (files the database names and the
    /// ones it does not: the notices' pictures, kept by their content's hash).
    fn keys(&self) -> FileFuture<'_, Vec<String>>;
}

/// Whether `key` is one Loupan makes: `/`-separated segments of ASCII
/// letters, digits, `-` and `.` (never `.` or `..` alone, never `_`, which a
/// local folder writes for `.`, so that its names read back as the keys).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
}

fn checked(key: &str) -> std::io::Result<&str> {
    if valid_key(key) {
        Ok(key)
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a file key: {key:?}")))
    }
}

/// Copies every file of `from` into `to` (a backup, a restore, a move to a
/// bucket); returns how many. A file already in `to` is written again.
pub async fn copy_all(from: &dyn FileStore, to: &dyn FileStore) -> std::io::Result<usize> {
    let keys = from.keys().await?;
    for key in &keys {
        let file = from.get(key).await?;
        to.put(key, file.reader).await?;
    }
    Ok(keys.len())
}

/// Files in a local folder; a file is written under a temporary name, synced
/// and renamed, so a crash never leaves half a file under its key.
#[derive(Debug)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalFiles { root: root.into() }
    }

    /// Where `key` lives: `.` written as `_` (as Loupan always has), which
    /// `walk` reads back, since a key never holds `_`.
    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        Ok(self.root.join(checked(key)?.replace('.', "_")))
    }
}

impl FileStore for LocalFiles {
    fn put<'a>(&'a self, key: &'a str, mut body: Pin<Box<dyn AsyncRead + Send + 'a>>) -> FileFuture<'a, u64> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = path.with_extension("part");
            let written = async {
                let mut file = tokio::fs::File::create(&tmp).await?;
                let len = tokio::io::copy(&mut body, &mut file).await?;
                file.sync_all().await?;
                Ok::<u64, std::io::Error>(len)
            }
            .await;
            match written {
                Ok(len) => {
                    tokio::fs::rename(&tmp, &path).await?;
                    Ok(len)
                }
                Err(e) => {
                    // Nothing is left under the key, nor half a file beside it.
                    let _ = tokio::fs::remove_file(&tmp).await;
                    Err(e)
                }
            }
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> FileFuture<'a, FileBody> {
        Box::pin(async move {
            let file = tokio::fs::File::open(self.path(key)?).await?;
            let len = file.metadata().await?.len();
            Ok(FileBody { len, reader: Box::pin(file) })
        })
    }

    fn head<'a>(&'a self, key: &'a str) -> FileFuture<'a, Option<u64>> {
        Box::pin(async move {
            match tokio::fs::metadata(self.path(key)?).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> FileFuture<'a, ()> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)?).await {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
    }

    fn keys(&self) -> FileFuture<'_, Vec<String>> {
        Box::pin(async move {
            let mut keys = Vec::new();
            self.walk(self.root.clone(), &mut keys).await?;
            keys.sort();
            Ok(keys)
        })
    }
}

impl LocalFiles {
    /// The keys under `dir`, which is `root` or a folder in it.
    fn walk<'a>(&'a self, dir: PathBuf, keys: &'a mut Vec<String>) -> FileFuture<'a, ()> {
        Box::pin(async move {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            while let Some(entry) = entries.next_entry().await? {
                let path = entry.path();
                if entry.file_type().await?.is_dir() {
                    self.walk(path, keys).await?;
                } else if path.extension().is_none_or(|e| e != "part")
                    && let Ok(relative) = path.strip_prefix(&self.root)
                {
                    // Half-written files (`.part`) are no one's; keys use `/` on every system.
                    let parts: Vec<String> =
                        relative.components().map(|c| c.as_os_str().to_string_lossy().replace('_', ".")).collect();
                    keys.push(parts.join("/"));
                }
            }
            Ok(())
        })
    }
}

/// A file store failure, with the key, for the log.
pub(crate) fn store_failed(key: &str, e: std::io::Error) -> ServiceError {
    #[derive(Debug, thiserror::Error)]
    #[error("file store, key {key}")]
    struct FileStoreFailed {
        key: String,
        #[source]
        source: std::io::Error,
    }
    ServiceError::internal(FileStoreFailed { key: key.to_owned(), source: e })
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// Yields some bytes, then fails, like a client that hangs up mid-upload.
    struct Broken(usize);

    impl AsyncRead for Broken {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("connection reset")));
            }
            self.0 -= 1;
            buf.put_slice(b"half a floor plan ");
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn local_files_put_get_head_delete_and_never_keep_half_a_file() {
        let root = std::env::temp_dir().join(format!("loupan-files-test-{}", loupan_store::new_id()));
        let files = LocalFiles::new(&root);
        assert_eq!(files.head("2026/a").await.unwrap(), None);
        let len = files.put("2026/a", Box::pin(std::io::Cursor::new(b"%PDF-1.7 plan".to_vec()))).await.unwrap();
        assert_eq!(len, 13);
        assert_eq!(files.head("2026/a").await.unwrap(), Some(13));
        let mut body = files.get("2026/a").await.unwrap();
        let mut read = Vec::new();
        body.reader.read_to_end(&mut read).await.unwrap();
        assert_eq!((body.len, read.as_slice()), (13, b"%PDF-1.7 plan".as_slice()));

        assert!(files.put("2026/b", Box::pin(Broken(3))).await.is_err());
        assert_eq!(files.head("2026/b").await.unwrap(), None, "a failed upload leaves nothing under its key");
        let left: Vec<_> = std::fs::read_dir(root.join("2026")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a")], "nor a partial file beside it");

        // Listed as the keys they were stored under, a dot included; copied whole.
        files.put("notices/01ab.pdf", Box::pin(std::io::Cursor::new(b"letters".to_vec()))).await.unwrap();
        assert_eq!(files.keys().await.unwrap(), ["2026/a", "notices/01ab.pdf"]);
        let copy = LocalFiles::new(root.join("copy"));
        assert_eq!(copy_all(&files, &copy).await.unwrap(), 2);
        assert_eq!(copy.head("notices/01ab.pdf").await.unwrap(), Some(7));
        for bad in ["", "../keys", "2026/./a", "a\\b", "a_b", "/abs"] {
            assert_eq!(files.head(bad).await.unwrap_err().kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        }

        files.delete("2026/a").await.unwrap();
        files.delete("2026/a").await.unwrap();
        assert_eq!(files.get("2026/a").await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(root).unwrap();
    }
}
