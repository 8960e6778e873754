//! Where sign-ins are kept: the system keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) when there is one, else `secrets.json` in the data folder,
//! readable by this user only (0600) and written whole then renamed into place. Each account
//! records which one holds its sign-in, so the UI can say it, and nothing is kept in SQLite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Forces one store: `file` (tests, or a user who does not want the keychain) or `keychain`.
pub const SECRETS_ENV: &str = "HEARTH_SECRETS";
/// The service name entries are filed under in the keychain.
const KEYCHAIN_SERVICE: &str = "org.hearth.app";

/// Which store holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    Keychain,
    File,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keychain => "keychain",
            Self::File => "file",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "keychain" {
            Self::Keychain
        } else {
            Self::File
        }
    }
}

/// What an account keeps to act for the user: its tokens, and (Mastodon) the app's own id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// The secret stores of one data folder.
#[derive(Debug)]
pub struct Secrets {
    file: PathBuf,
    /// Serialises read-modify-write of the file.
    lock: Mutex<()>,
}

impl Secrets {
    pub fn new(data_dir: &Path) -> Self {
        Self { file: data_dir.join("secrets.json"), lock: Mutex::new(()) }
    }

    /// Where a new sign-in goes: the keychain if one answers, else the file.
    pub fn preferred(&self) -> Storage {
        match std::env::var(SECRETS_ENV).as_deref() {
            Ok("file") => return Storage::File,
            Ok("keychain") => return Storage::Keychain,
            _ => {}
        }
        let probe = || -> keyring::Result<()> {
            let entry = keyring::Entry::new(KEYCHAIN_SERVICE, "probe")?;
            entry.set_password("probe")?;
            entry.delete_credential()
        };
        if probe().is_ok() {
            Storage::Keychain
        } else {
            Storage::File
        }
    }

    pub fn save(&self, storage: Storage, key: &str, credentials: &Credentials) -> Result<()> {
        let text = serde_json::to_string(credentials).map_err(|error| Error::Internal(error.to_string()))?;
        match storage {
            Storage::Keychain => keyring::Entry::new(KEYCHAIN_SERVICE, key)
                .and_then(|entry| entry.set_password(&text))
                .map_err(|error| Error::Unavailable(format!("the system keychain refused the sign-in: {error}"))),
            Storage::File => self.edit_file(|entries| {
                entries.insert(key.to_owned(), text);
            }),
        }
    }

    /// The saved credentials, or `None` when there are none (signed out, or the store was wiped).
    pub fn load(&self, storage: Storage, key: &str) -> Result<Option<Credentials>> {
        let text = match storage {
            Storage::Keychain => {
                match keyring::Entry::new(KEYCHAIN_SERVICE, key).and_then(|entry| entry.get_password()) {
                    Ok(text) => Some(text),
                    Err(keyring::Error::NoEntry) => None,
                    Err(error) => {
                        return Err(Error::Unavailable(format!("the system keychain could not be read: {error}")))
                    }
                }
            }
            Storage::File => {
                let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                self.read_file()?.remove(key)
            }
        };
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    pub fn forget(&self, storage: Storage, key: &str) -> Result<()> {
        match storage {
            Storage::Keychain => match keyring::Entry::new(KEYCHAIN_SERVICE, key).and_then(|e| e.delete_credential()) {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(error) => Err(Error::Unavailable(format!("the system keychain could not forget it: {error}"))),
            },
            Storage::File => self.edit_file(|entries| {
                entries.remove(key);
            }),
        }
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>> {
        match std::fs::read(&self.file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| Error::Internal(format!("{} is damaged: {error}", self.file.display()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(error) => Err(Error::io(format!("reading {}", self.file.display()), error)),
        }
    }

    fn edit_file(&self, change: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut entries = self.read_file()?;
        change(&mut entries);
        let text = serde_json::to_vec_pretty(&entries).map_err(|error| Error::Internal(error.to_string()))?;
        let partial = self.file.with_extension("json.partial");
        write_private(&partial, &text).map_err(|error| Error::io(format!("writing {}", partial.display()), error))?;
        std::fs::rename(&partial, &self.file)
            .map_err(|error| Error::io(format!("saving {}", self.file.display()), error))
    }
}

/// Writes a file only its owner can read (0600 on Unix), synced to disk.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_store_keeps_forgets_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(dir.path());
        let credentials = Credentials { access_token: "abc".into(), ..Credentials::default() };
        secrets.save(Storage::File, "mastodon:alice", &credentials).unwrap();
        secrets
            .save(Storage::File, "bluesky:bob", &Credentials { access_token: "x".into(), ..credentials.clone() })
            .unwrap();
        assert_eq!(secrets.load(Storage::File, "mastodon:alice").unwrap(), Some(credentials));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        secrets.forget(Storage::File, "mastodon:alice").unwrap();
        assert_eq!(secrets.load(Storage::File, "mastodon:alice").unwrap(), None);
        assert!(secrets.load(Storage::File, "bluesky:bob").unwrap().is_some(), "the other sign-in stays");
    }
}
