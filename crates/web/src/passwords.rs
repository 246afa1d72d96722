//! Password hashing with bounded concurrency. argon2id takes 19 MiB and tens of milliseconds
//! per hash on purpose; every path of the server that hashes or verifies (login, setup, adding
//! a user, changing a password) goes through one [`Hasher`], whose semaphore lets only a few
//! hashes run at once. A caller that cannot get a turn within a short wait is told to come back
//! later (429 with `Retry-After`) instead of queueing memory without bound. Each slot keeps its
//! argon2 working memory and reuses it, so the memory of hashing stays at slots × 19 MiB
//! however many requests come (allocating it per hash leaves it resident in the allocator's
//! per-thread arenas).

use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// The most argon2 memory a stored hash may ask for (64 MiB); a hash asking for more is
/// refused rather than allocated.
const MAX_BLOCKS: usize = 64 * 1024;

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the whole wait.
    #[error("the server is busy checking other passwords; try again in {retry_after} seconds")]
    Busy { retry_after: u64 },
    #[error("cannot hash the password: {0}")]
    Failed(String),
}

/// Hashes a password with argon2id (salted, PHC string). Blocking: call through [`Hasher`] in
/// the server.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| format!("cannot hash the password: {err}"))
}

/// Whether `password` matches a stored hash. Blocking, like [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes `password` into a PHC string with the default parameters, in `memory`.
fn hash_with(password: &str, memory: &mut Vec<Block>) -> Result<String, String> {
    let failed = |err: &dyn std::fmt::Display| format!("cannot hash the password: {err}");
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    grow(memory, params.block_count()).map_err(|e| failed(&e))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory[..])
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`, computed in `memory`.
fn verify_with(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        grow(memory, params.block_count()).ok()?;
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                &mut out,
                &mut memory[..],
            )
            .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// Makes `memory` hold at least `blocks` blocks (at most [`MAX_BLOCKS`]).
fn grow(memory: &mut Vec<Block>, blocks: usize) -> Result<(), String> {
    if blocks > MAX_BLOCKS {
        return Err(format!(
            "the stored hash asks for {blocks} KiB of memory, more than {MAX_BLOCKS} KiB"
        ));
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Ok(())
}

/// The server's one way to hash and verify passwords.
#[derive(Clone, Debug)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    /// argon2 working memory, one buffer per slot in use at most, reused.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
}

impl Default for Hasher {
    /// As many slots as cores, between 1 and 4 (at most 76 MiB of argon2 memory), and a
    /// two-second wait for one.
    fn default() -> Hasher {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Hasher::new(cores.clamp(1, 4), Duration::from_secs(2))
    }
}

impl Hasher {
    pub fn new(slots: usize, wait: Duration) -> Hasher {
        Hasher {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            memory: Arc::default(),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free. The slot stays taken until the
    /// work ends, even if the request that asked for it is dropped.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let busy = HashError::Busy {
            retry_after: self.wait.as_secs().max(1),
        };
        let permit = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => return Err(busy),
        };
        let pool = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = pool
                .lock()
                .ok()
                .and_then(|mut buffers| buffers.pop())
                .unwrap_or_default();
            let result = work(&mut memory);
            if let Ok(mut buffers) = pool.lock() {
                buffers.push(memory);
            }
            drop(permit);
            result
        })
        .await
        .map_err(|err| HashError::Failed(err.to_string()))
    }

    /// A new argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |memory| hash_with(&password, memory))
            .await?
            .map_err(HashError::Failed)
    }

    /// Whether `password` matches `hash`. With no hash (an unknown account) the same work is
    /// done against a throwaway hash, so timing does not tell which accounts exist.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        self.run(move |memory| match hash {
            Some(hash) => verify_with(&password, &hash, memory),
            None => {
                let _ = hash_with(&password, memory);
                false
            }
        })
        .await
    }

    /// Hashing slots free right now (for tests and health).
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_as_many_hashes_run_as_there_are_slots_and_the_rest_are_told_busy() {
        let hasher = Hasher::new(1, Duration::from_millis(50));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(move |_| {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(hasher.free_slots(), 0);
        let refused = hasher.hash("another password".to_owned()).await;
        assert!(
            matches!(refused, Err(HashError::Busy { retry_after: 1 })),
            "{refused:?}"
        );
        release_tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert_eq!(hasher.free_slots(), 1);
        let hash = hasher.hash("another password".to_owned()).await.unwrap();
        assert!(
            hasher
                .verify("another password".to_owned(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("x".to_owned(), None).await.unwrap());
        // One buffer, reused.
        assert_eq!(hasher.memory.lock().unwrap().len(), 1);
    }

    #[test]
    fn hashes_made_with_reused_memory_are_standard_argon2id() {
        let mut memory = Vec::new();
        let ours = hash_with("correct horse battery", &mut memory).unwrap();
        assert!(verify_password("correct horse battery", &ours), "{ours}");
        assert!(!verify_password("correct horse batterY", &ours));
        let theirs = hash_password("correct horse battery").unwrap();
        assert!(verify_with("correct horse battery", &theirs, &mut memory));
        assert!(!verify_with("wrong", &theirs, &mut memory));
        assert!(!verify_with("x", "not a hash", &mut memory));
        // A stored hash asking for absurd memory is refused, not allocated.
        let greedy = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY";
        assert!(!verify_with("x", greedy, &mut memory));
        assert_eq!(memory.len(), Params::default().block_count());
    }
}
