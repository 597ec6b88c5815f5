//! Writing results to files without ever leaving a half-written one: the text goes to a
//! temporary file in the target folder, which is renamed over the target only once complete.
//! An interrupted or failed run leaves the previous file (if any) untouched.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file being written; [`Pending::commit`] puts it in place.
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<std::fs::File>,
}

/// Why an output file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The folder of the target does not exist.
    #[error("cannot write {target}: the folder {folder} does not exist")]
    NoFolder { target: String, folder: String },
    /// The target is a folder.
    #[error("cannot write {target}: it is a folder")]
    IsFolder { target: String },
    /// Creating, writing or renaming the file failed.
    #[error("cannot write {target}: {}", reason(source))]
    Io {
        target: String,
        #[source]
        source: std::io::Error,
    },
}

impl Pending {
    /// Open a temporary file beside `target`; fails at once when the folder does not exist
    /// or cannot be written, so a long run is not wasted.
    pub fn create(target: &Path) -> Result<Pending, OutputError> {
        let shown = target.display();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(OutputError::NoFolder {
                target: shown.to_string(),
                folder: dir.display().to_string(),
            });
        }
        if target.is_dir() {
            return Err(OutputError::IsFolder {
                target: shown.to_string(),
            });
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| OutputError::Io {
                target: shown.to_string(),
                source,
            })?;
        Ok(Pending {
            tmp,
            target: target.to_path_buf(),
            file: Some(file),
        })
    }

    /// Write all of `text`, flush it to disk and rename it over the target.
    pub fn commit(self, text: &str) -> Result<(), OutputError> {
        self.commit_bytes(text.as_bytes())
    }

    /// Write all of `bytes` (an image, say), flush them to disk and rename over the target.
    pub fn commit_bytes(mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let shown = self.target.display().to_string();
        let mut f = self
            .file
            .take()
            .expect("a pending file is open until committed");
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|source| OutputError::Io {
                target: shown.clone(),
                source,
            })?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target).map_err(|source| OutputError::Io {
            target: shown,
            source,
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Not committed (an error or a panic on the way): remove the temporary file.
        if self.file.is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_or_nothing() {
        let dir = std::env::temp_dir().join(format!("scorecheck-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("report.json");
        std::fs::write(&target, "old").unwrap();
        // Abandoned: the old file stays, no temporary file is left.
        let p = Pending::create(&target).unwrap();
        drop(p);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // Committed: replaced whole.
        Pending::create(&target).unwrap().commit("new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // A missing folder is refused before any work.
        let e = Pending::create(&dir.join("nope").join("r.json")).unwrap_err();
        assert!(matches!(e, OutputError::NoFolder { .. }), "{e}");
        assert!(e.to_string().ends_with("does not exist"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
