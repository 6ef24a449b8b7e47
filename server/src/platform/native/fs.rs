//! Reads a folder of Markdown files for ingestion, reporting each bad file instead of failing.

use std::path::{Path, PathBuf};

use crate::knowledge::MAX_DOCUMENT_BYTES;

/// A Markdown file found under the ingested folder.
#[derive(Debug)]
pub struct FoundFile {
    /// The path relative to the ingested folder, with `/` separators (the document's key).
    pub rel_path: String,
    /// The absolute path on disk.
    pub abs_path: PathBuf,
    /// The file's size in bytes.
    pub size: u64,
}

/// A file that was found but cannot be ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// The path relative to the ingested folder.
    pub rel_path: String,
    /// Why it was skipped, in words for the operator.
    pub reason: String,
}

/// Lists the Markdown files (`.md`, `.markdown`) under `root`, recursively, sorted by path.
/// Hidden folders (`.git`, ...) and `node_modules`/`target` are not entered.
///
/// # Errors
/// An I/O error when `root` itself cannot be read. Entries below it that cannot be read are
/// returned as [`SkippedFile`]s.
pub fn find_markdown(root: &Path) -> std::io::Result<(Vec<FoundFile>, Vec<SkippedFile>)> {
    find_markdown_in(root, &[PathBuf::new()])
}

/// Like [`find_markdown`], but only under `includes` (files or folders, relative to `root`);
/// paths stay relative to `root`. The demo project uses it to index `README.md` and `docs/`.
///
/// # Errors
/// An I/O error when `root` or one of `includes` cannot be read.
pub fn find_markdown_in(
    root: &Path,
    includes: &[PathBuf],
) -> std::io::Result<(Vec<FoundFile>, Vec<SkippedFile>)> {
    let meta = std::fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", root.display()),
        ));
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let real_root = std::fs::canonicalize(root)?;
    for include in includes {
        let start = root.join(include);
        let real = std::fs::canonicalize(&start)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", start.display())))?;
        if !real.starts_with(&real_root) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{} is outside {}", start.display(), root.display()),
            ));
        }
        walk(root, &real_root, &start, &mut found, &mut skipped);
    }
    found.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    found.dedup_by(|a, b| a.rel_path == b.rel_path);
    Ok((found, skipped))
}

/// Walks `start` without following links: a link is read only when it is a file that resolves
/// inside the folder (`real_root`); any other is reported as skipped, so no link can publish a
/// file from elsewhere on the machine.
fn walk(
    root: &Path,
    real_root: &Path,
    start: &Path,
    found: &mut Vec<FoundFile>,
    skipped: &mut Vec<SkippedFile>,
) {
    let walker = walkdir::WalkDir::new(start)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || {
                let name = e.file_name().to_string_lossy();
                !(name.starts_with('.') || name == "node_modules" || name == "target")
            }
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let rel = e
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(rel_string)
                    .unwrap_or_default();
                skipped.push(SkippedFile {
                    rel_path: rel,
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let rel_path = entry
            .path()
            .strip_prefix(root)
            .map(rel_string)
            .unwrap_or_else(|_| entry.path().display().to_string());
        let mut abs_path = entry.path().to_path_buf();
        if entry.path_is_symlink() && entry.depth() > 0 {
            let target = std::fs::canonicalize(entry.path());
            match target {
                Ok(t) if !t.starts_with(real_root) => {
                    skipped.push(SkippedFile {
                        rel_path,
                        reason: "a link to outside the folder: not followed".into(),
                    });
                    continue;
                }
                Ok(t) if t.is_dir() => {
                    skipped.push(SkippedFile {
                        rel_path,
                        reason: "a link to a folder: not followed".into(),
                    });
                    continue;
                }
                Ok(t) if is_markdown(entry.path()) => abs_path = t,
                Ok(_) => continue,
                Err(e) => {
                    skipped.push(SkippedFile {
                        rel_path,
                        reason: format!("a broken link: {e}"),
                    });
                    continue;
                }
            }
        } else if !entry.file_type().is_file() {
            continue;
        } else if !is_markdown(entry.path()) {
            // Documentation in another format is said not to be read, so that a folder of
            // reStructuredText or HTML is not taken for an empty one; code, images and the
            // rest pass unmentioned.
            if is_other_document(entry.path()) {
                skipped.push(SkippedFile {
                    rel_path,
                    reason: "not Markdown: only .md, .markdown and .mdx files are read".into(),
                });
            }
            continue;
        }
        match std::fs::metadata(&abs_path) {
            Ok(m) => found.push(FoundFile {
                rel_path,
                abs_path,
                size: m.len(),
            }),
            Err(e) => skipped.push(SkippedFile {
                rel_path,
                reason: format!("cannot be read: {e}"),
            }),
        }
    }
}

/// Reads a found file as UTF-8 text, or says why it cannot be ingested.
///
/// # Errors
/// A reason for the operator: too large, unreadable, or not UTF-8.
pub fn read_markdown(file: &FoundFile) -> Result<String, String> {
    if file.size > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "too large ({} bytes; the limit is {} bytes)",
            file.size, MAX_DOCUMENT_BYTES
        ));
    }
    let bytes = std::fs::read(&file.abs_path).map_err(|e| format!("cannot be read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "is not valid UTF-8 (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn is_markdown(path: &Path) -> bool {
    path.to_str().is_some_and(crate::knowledge::chunk::is_page)
}

/// Whether `path` is documentation in a format other than Markdown (reStructuredText,
/// AsciiDoc, HTML, plain text, PDF, office and notebook files).
fn is_other_document(path: &Path) -> bool {
    const FORMATS: &[&str] = &[
        "rst", "adoc", "asciidoc", "html", "htm", "txt", "pdf", "docx", "odt", "rtf", "org", "tex",
        "ipynb",
    ];
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| FORMATS.contains(&e.to_ascii_lowercase().as_str()))
}

fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Creates `dir` (and its parents) readable by its owner only, and makes an existing one so:
/// the data folder holds project secrets, bot tokens and conversations.
///
/// # Errors
/// An I/O error when it cannot be created or its permissions set.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Makes `file` readable and writable by its owner only.
///
/// # Errors
/// An I/O error when its permissions cannot be set.
pub fn private_file(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod links {
    use super::*;

    #[test]
    fn links_never_reach_outside_the_folder_and_say_why_they_were_skipped() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "# Secret\n\nhunter2").unwrap();
        std::fs::create_dir(outside.path().join("more")).unwrap();
        let docs = tempfile::tempdir().unwrap();
        let d = docs.path();
        std::fs::write(d.join("guide.md"), "# Guide").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        let link = std::os::unix::fs::symlink;
        link(outside.path().join("secret.md"), d.join("leak.md")).unwrap();
        link(outside.path().join("more"), d.join("elsewhere")).unwrap();
        link(d.join("guide.md"), d.join("sub/alias.md")).unwrap();
        link(d.join("sub"), d.join("loop")).unwrap();
        link(d.join("gone.md"), d.join("broken.md")).unwrap();

        let (found, skipped) = find_markdown(d).unwrap();
        let found: Vec<_> = found.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(found, ["guide.md", "sub/alias.md"]);
        let skipped: Vec<_> = skipped
            .iter()
            .map(|s| (s.rel_path.as_str(), s.reason.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("broken.md", "a broken link"),
                ("elsewhere", "a link to outside the folder"),
                ("leak.md", "a link to outside the folder"),
                ("loop", "a link to a folder"),
            ]
        );
        // An include that leads outside is refused as a whole.
        link(outside.path().to_path_buf(), d.join("out")).unwrap();
        let e = find_markdown_in(d, &[PathBuf::from("out")]).unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }
}
