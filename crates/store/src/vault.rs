//! Credentials at rest: XChaCha20-Poly1305 with a 32-byte master key.
//!
//! The master key comes from `SPENDLENS_MASTER_KEY` (64 hex digits or base64 of 32 bytes) or,
//! when that is unset, from `master.key` in the data directory, created on first run with mode
//! 0600. A sealed value is `version (1) ‖ key id (8) ‖ nonce (24) ‖ ciphertext+tag`; the key id
//! (the first 8 bytes of SHA-256 of the key) lets a wrong master key be named as such instead
//! of failing as "corrupt". The associated data binds a value to its table, row and field, so
//! a ciphertext copied to another row does not decrypt.

use std::fmt;
use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;
pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "SPENDLENS_MASTER_KEY must be 32 bytes as 64 hex digits or base64 (generate one with `openssl rand -hex 32`)"
    )]
    BadKey,
    #[error("cannot read or create the master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "this credential was encrypted with a different master key (key id {stored}, current {current}); set SPENDLENS_MASTER_KEY to the key in use when it was added, or add the connection again"
    )]
    WrongKey { stored: String, current: String },
    #[error(
        "a stored credential is damaged and cannot be decrypted; remove the connection and add it again"
    )]
    Damaged,
}

/// Seals and opens secrets with the master key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    key_id: [u8; KEY_ID_LEN],
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault(key id {})", hex::encode(self.key_id))
    }
}

impl Vault {
    pub fn from_key(key: [u8; 32]) -> Vault {
        let digest = Sha256::digest(key);
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Vault {
            cipher: XChaCha20Poly1305::new(&key.into()),
            key_id,
        }
    }

    /// Parses a master key given as 64 hex digits or base64 of 32 bytes.
    pub fn from_text(text: &str) -> Result<Vault, VaultError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| VaultError::BadKey)?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| VaultError::BadKey)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Vault::from_key(key))
    }

    /// The key from `env_key` when given, else from (or newly into) `master.key` in `data_dir`.
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> Result<Vault, VaultError> {
        if let Some(text) = env_key.filter(|t| !t.trim().is_empty()) {
            return Vault::from_text(text);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        let key_file_error = |reason: String| VaultError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Vault::from_text(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(|e| key_file_error(e.to_string()))?;
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private_file(&path, &hex::encode(key)).map_err(key_file_error)?;
                Ok(Vault::from_key(key))
            }
            Err(err) => Err(key_file_error(err.to_string())),
        }
    }

    pub fn key_id(&self) -> String {
        hex::encode(self.key_id)
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. `connections/12/credential`).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        let mut sealed = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&self.key_id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts a value sealed for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < 1 + KEY_ID_LEN + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(VaultError::Damaged);
        }
        let key_id = &sealed[1..1 + KEY_ID_LEN];
        if key_id != self.key_id {
            return Err(VaultError::WrongKey {
                stored: hex::encode(key_id),
                current: self.key_id(),
            });
        }
        let nonce = &sealed[1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN];
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &sealed[1 + KEY_ID_LEN + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| e.to_string())?;
    file.write_all(contents.as_bytes())
        .map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_in_their_context() {
        let vault = Vault::from_key([7; 32]);
        let sealed = vault
            .seal(b"sk-admin-secret", "connections/1/credential")
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            vault.open(&sealed, "connections/1/credential").unwrap(),
            b"sk-admin-secret"
        );
        assert!(matches!(
            vault.open(&sealed, "connections/2/credential"),
            Err(VaultError::Damaged)
        ));
    }

    #[test]
    fn a_different_master_key_is_named_as_such() {
        let sealed = Vault::from_key([7; 32]).seal(b"x", "c").unwrap();
        let err = Vault::from_key([8; 32]).open(&sealed, "c").unwrap_err();
        assert!(matches!(err, VaultError::WrongKey { .. }));
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Vault::load(None, dir.path()).unwrap();
        let second = Vault::load(None, dir.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn env_keys_accept_hex_and_base64_only_of_32_bytes() {
        assert!(Vault::from_text(&"ab".repeat(32)).is_ok());
        assert!(Vault::from_text("c2hvcnQ=").is_err());
    }
}
