//! Password hashing with argon2id (by default the OWASP parameters: 19 MiB, 2 passes, 1
//! lane; configurable, and a login re-hashes a password whose hash used other parameters).
//!
//! argon2 is deliberately slow, so every hash and check runs on tokio's blocking pool, never
//! on the async workers.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Proof;
use crate::error::AppError;

/// Hashes and checks passwords.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

/// The argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

struct Inner {
    argon2: Argon2<'static>,
    params: Params,
    /// Hashing slots: each hash holds 19 MiB and a core, so a login storm waits here, briefly,
    /// instead of exhausting memory or starving other requests.
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    /// A hash of a random password, checked when the email is unknown so that login takes
    /// the same time whether or not the account exists.
    dummy_hash: String,
}

impl Passwords {
    /// Builds the hasher with the OWASP parameters, and its dummy hash (one slow hash, done
    /// at start so the first unknown-email login is not faster than the rest). At most
    /// `concurrency` hashes run at once; a caller waits `queue_timeout` for a slot at most.
    #[cfg(test)]
    pub async fn new(concurrency: usize, queue_timeout: Duration) -> anyhow::Result<Self> {
        Self::with_params(Argon2Params::default(), concurrency, queue_timeout).await
    }

    /// Like [`Passwords::new`], with the given cost parameters.
    pub async fn with_params(
        config: Argon2Params,
        concurrency: usize,
        queue_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let slots = Arc::new(Semaphore::new(concurrency.max(1)));
        tokio::task::spawn_blocking(move || {
            let params = Params::new(
                config.memory_kib,
                config.iterations,
                config.parallelism,
                None,
            )
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let dummy_hash = hash_with(&argon2, &uuid::Uuid::new_v4().to_string());
            crate::memory::release_freed();
            let dummy_hash = dummy_hash?;
            Ok(Self {
                inner: Arc::new(Inner {
                    argon2,
                    params,
                    slots,
                    queue_timeout,
                    dummy_hash,
                }),
            })
        })
        .await
        .context("building the password hasher")?
    }

    /// A hashing slot, or `RATE_LIMITED` when none frees up in time.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, AppError> {
        let slots = Arc::clone(&self.inner.slots);
        match tokio::time::timeout(self.inner.queue_timeout, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(anyhow::anyhow!("hashing slots closed: {closed}").into()),
            Err(_) => Err(AppError::RateLimited { retry_after: 1 }),
        }
    }

    /// A PHC string of `password`, with a fresh salt.
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let permit = self.slot().await?;
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let hash = hash_with(&inner.argon2, &password);
            crate::memory::release_freed();
            hash
        })
        .await
        .context("password hashing task")??;
        Ok(hash)
    }

    /// A hash of the password chosen for an account being created, with the proof that
    /// stands for that account once it is stored with this hash.
    pub(crate) async fn hash_for_new_account(
        &self,
        password: &str,
    ) -> Result<(String, Proof), AppError> {
        Ok((self.hash(password).await?, Proof(())))
    }

    /// The proof of who the caller is when `password` matches `hash`; with no hash, checks
    /// against the dummy one and answers `None`, taking the same time.
    pub(crate) async fn verify(
        &self,
        password: &str,
        hash: Option<String>,
    ) -> Result<Option<Proof>, AppError> {
        let permit = self.slot().await?;
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let valid = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| inner.dummy_hash.clone());
            let parsed =
                PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            let matches = inner
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            crate::memory::release_freed();
            Ok::<_, anyhow::Error>(known && matches)
        })
        .await
        .context("password check task")??;
        Ok(valid.then_some(Proof(())))
    }
}

impl Passwords {
    /// Whether `hash` was made with another algorithm, version or cost than the configured
    /// one, so a login that just proved the password should replace it.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let current = &self.inner.params;
        let same = parsed.algorithm == Algorithm::Argon2id.ident()
            && parsed.version == Some(Version::V0x13.into())
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == current.m_cost()
                    && p.t_cost() == current.t_cost()
                    && p.p_cost() == current.p_cost()
            });
        !same
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_check_only_their_password() -> anyhow::Result<()> {
        let passwords = Passwords::new(2, Duration::from_secs(5)).await?;
        let hash = passwords.hash("correct horse").await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse", Some(hash.clone()))
                .await?
                .is_some()
        );
        assert!(
            passwords
                .verify("correct horsf", Some(hash))
                .await?
                .is_none()
        );
        assert!(passwords.verify("anything", None).await?.is_none());
        Ok(())
    }

    #[tokio::test]
    async fn other_parameters_need_a_rehash() -> anyhow::Result<()> {
        let cheap = Argon2Params {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        };
        let slow = Duration::from_secs(5);
        let old = Passwords::with_params(cheap, 2, slow).await?;
        let current = Passwords::new(2, slow).await?;
        let old_hash = old.hash("correct horse").await?;
        let new_hash = current.hash("correct horse").await?;
        assert!(current.needs_rehash(&old_hash));
        assert!(!current.needs_rehash(&new_hash));
        assert!(!old.needs_rehash(&old_hash));
        // An old hash still verifies: the rehash happens after a good login.
        assert!(
            current
                .verify("correct horse", Some(old_hash))
                .await?
                .is_some()
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_full_house_answers_rate_limited() -> anyhow::Result<()> {
        let passwords = Passwords::new(1, Duration::from_millis(1)).await?;
        let held = passwords.slot().await?;
        assert!(matches!(
            passwords.hash("correct horse").await,
            Err(AppError::RateLimited { retry_after: 1 })
        ));
        drop(held);
        assert!(passwords.hash("correct horse").await.is_ok());
        Ok(())
    }
}
