//! Opening a OneRoster CSV package safely: a zip whose CSV files sit at its root, described by
//! `manifest.csv`. Folders, paths (`../`, absolute, backslashes), duplicate names, unknown
//! files, files the manifest does not list and oversized contents are refused before any CSV is
//! parsed. Nothing here touches the database.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::io::Read;

use super::table::{self, FileError, Spec};

/// The files a OneRoster 1.1/1.2 CSV package may hold.
pub const FILES: &[&str] = &[
    "academicSessions.csv",
    "categories.csv",
    "classes.csv",
    "courses.csv",
    "demographics.csv",
    "enrollments.csv",
    "lineItems.csv",
    "orgs.csv",
    "resources.csv",
    "results.csv",
    "roles.csv",
    "userProfiles.csv",
    "users.csv",
    "classResources.csv",
    "courseResources.csv",
    "lineItemLearningObjectiveIds.csv",
    "lineItemScoreScales.csv",
    "resultLearningObjectiveIds.csv",
    "resultScoreScales.csv",
    "scoreScales.csv",
];

/// How the manifest says a file is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processing {
    /// The complete set: records missing from it are no longer current.
    Bulk,
    /// Changes only; every row carries `status` and `dateLastModified`.
    Delta,
}

/// An opened package: its OneRoster version and each present file's bytes.
#[derive(Debug)]
pub struct Package {
    /// `1.1` or `1.2`.
    pub version: String,
    /// Present files by name, with how to process them.
    pub files: BTreeMap<String, (Processing, Vec<u8>)>,
}

fn error(code: &'static str, message: impl Into<String>) -> FileError {
    FileError {
        code,
        column: None,
        message: message.into(),
    }
}

/// Opens `bytes` as a OneRoster package whose files together hold at most `max_bytes`.
pub fn open(bytes: &[u8], max_bytes: usize) -> Result<Package, FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        error(
            "UNREADABLE_FILE",
            format!("the file is not a readable zip ({e})"),
        )
    })?;
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total = 0usize;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| {
            error(
                "UNREADABLE_FILE",
                format!("a zip entry cannot be read ({e})"),
            )
        })?;
        let name = entry
            .name()
            .map_err(|e| {
                error(
                    "UNREADABLE_FILE",
                    format!("a zip entry has no usable name ({e})"),
                )
            })?
            .into_owned();
        if entry.is_dir()
            || name.contains(['/', '\\'])
            || name.starts_with('.')
            || name.contains("..")
        {
            return Err(error(
                "ZIP_PATH",
                format!(
                    "the zip holds {name}: OneRoster files must sit at the root of the zip, without folders or paths"
                ),
            ));
        }
        if !FILES.contains(&name.as_str()) && name != "manifest.csv" {
            return Err(error(
                "UNKNOWN_FILE",
                format!("the zip holds {name}, which is not a OneRoster file"),
            ));
        }
        if contents.contains_key(&name) {
            return Err(error(
                "DUPLICATE_FILE",
                format!("the zip holds {name} twice"),
            ));
        }
        // Declared sizes can lie: read at most what is left of the budget, plus one byte.
        let budget = max_bytes.saturating_sub(total);
        let mut data = Vec::new();
        (&mut entry)
            .take(budget as u64 + 1)
            .read_to_end(&mut data)
            .map_err(|e| {
                error(
                    "UNREADABLE_FILE",
                    format!("{name} cannot be unpacked ({e})"),
                )
            })?;
        if data.len() > budget {
            return Err(error(
                "TOO_LARGE",
                format!("the unpacked files are larger than the limit of {max_bytes} bytes"),
            ));
        }
        total += data.len();
        contents.insert(name, data);
    }
    let manifest = contents
        .remove("manifest.csv")
        .ok_or_else(|| error("MISSING_MANIFEST", "the zip has no manifest.csv"))?;
    let manifest = read_manifest(&manifest)?;
    let version = manifest.get("oneroster.version").cloned().ok_or_else(|| {
        error(
            "INVALID_MANIFEST",
            "the manifest names no oneroster.version",
        )
    })?;
    if !matches!(version.as_str(), "1.1" | "1.2") {
        return Err(error(
            "UNSUPPORTED_VERSION",
            format!("OneRoster {version} is not supported (1.1 and 1.2 are)"),
        ));
    }
    let mut files = BTreeMap::new();
    for name in FILES {
        let key = format!("file.{}", name.trim_end_matches(".csv"));
        let mode = manifest.get(&key).map(String::as_str).unwrap_or("absent");
        let present = contents.remove(*name);
        let processing = match mode {
            "absent" => None,
            "bulk" => Some(Processing::Bulk),
            "delta" => Some(Processing::Delta),
            other => {
                return Err(error(
                    "INVALID_MANIFEST",
                    format!("{key} is {other}; expected absent, bulk or delta"),
                ));
            }
        };
        match (processing, present) {
            (Some(p), Some(data)) => {
                files.insert((*name).to_owned(), (p, data));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(error(
                    "MISSING_FILE",
                    format!("the manifest lists {name} but the zip does not hold it"),
                ));
            }
            (None, Some(_)) => {
                return Err(error(
                    "INVALID_MANIFEST",
                    format!("the zip holds {name} but the manifest says it is absent"),
                ));
            }
        }
    }
    Ok(Package { version, files })
}

const MANIFEST: &[Spec] = &[
    Spec {
        name: "propertyname",
        required: true,
        aliases: &[],
    },
    Spec {
        name: "value",
        required: true,
        aliases: &[],
    },
];

fn read_manifest(bytes: &[u8]) -> Result<BTreeMap<String, String>, FileError> {
    let manifest =
        table::read("manifest.csv", bytes, MANIFEST.into(), 1_000, 1 << 20).map_err(|e| {
            FileError {
                code: "INVALID_MANIFEST",
                column: e.column,
                message: format!("manifest.csv: {}", e.message),
            }
        })?;
    Ok((0..manifest.height())
        .filter_map(|i| {
            Some((
                manifest.cell("propertyname", i)?.to_owned(),
                manifest.cell("value", i)?.to_owned(),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in entries {
            if name.ends_with('/') {
                writer
                    .add_directory(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                continue;
            }
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(body.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    const MANIFEST_12: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,absent\n";
    const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,Herzl,school,123456,\n";

    fn code(bytes: &[u8]) -> &'static str {
        open(bytes, 1 << 20)
            .map(|_| "OK")
            .unwrap_or_else(|e| e.code)
    }

    #[test]
    fn a_package_with_its_manifest_opens() {
        let package = open(
            &zip(&[("manifest.csv", MANIFEST_12), ("orgs.csv", ORGS)]),
            1 << 20,
        )
        .unwrap();
        assert_eq!(package.version, "1.2");
        assert_eq!(package.files.len(), 1);
        assert_eq!(package.files["orgs.csv"].0, Processing::Bulk);
        assert_eq!(package.files["orgs.csv"].1, ORGS.as_bytes());
    }

    #[test]
    fn folders_paths_and_strangers_are_refused() {
        for name in [
            "data/orgs.csv",
            "../orgs.csv",
            "/orgs.csv",
            "..\\orgs.csv",
            ".hidden",
        ] {
            assert_eq!(
                code(&zip(&[("manifest.csv", MANIFEST_12), (name, ORGS)])),
                "ZIP_PATH",
                "{name}"
            );
        }
        assert_eq!(
            code(&zip(&[("manifest.csv", MANIFEST_12), ("data/", "")])),
            "ZIP_PATH"
        );
        assert_eq!(
            code(&zip(&[
                ("manifest.csv", MANIFEST_12),
                ("orgs.csv", ORGS),
                ("evil.sh", "x")
            ])),
            "UNKNOWN_FILE"
        );
    }

    #[test]
    fn the_manifest_must_be_there_and_agree_with_the_files() {
        assert_eq!(code(&zip(&[("orgs.csv", ORGS)])), "MISSING_MANIFEST");
        assert_eq!(code(&zip(&[("manifest.csv", MANIFEST_12)])), "MISSING_FILE");
        let users = "sourcedId,status,dateLastModified\nu1,,\n";
        assert_eq!(
            code(&zip(&[
                ("manifest.csv", MANIFEST_12),
                ("orgs.csv", ORGS),
                ("users.csv", users)
            ])),
            "INVALID_MANIFEST"
        );
        let v3 = MANIFEST_12.replace("oneroster.version,1.2", "oneroster.version,3.0");
        assert_eq!(
            code(&zip(&[("manifest.csv", &v3), ("orgs.csv", ORGS)])),
            "UNSUPPORTED_VERSION"
        );
        assert_eq!(code(b"PK\x03\x04 not really a zip"), "UNREADABLE_FILE");
    }

    #[test]
    fn unpacked_contents_are_held_to_the_limit() {
        let big = format!("{ORGS}{}", "o2,,,x,school,1,\n".repeat(10_000));
        let bytes = zip(&[("manifest.csv", MANIFEST_12), ("orgs.csv", &big)]);
        assert!(bytes.len() < 100_000, "deflated: {}", bytes.len());
        assert_eq!(open(&bytes, 100_000).unwrap_err().code, "TOO_LARGE");
        assert!(open(&bytes, 1 << 20).is_ok());
    }
}
