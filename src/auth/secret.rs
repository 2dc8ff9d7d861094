//! The HS256 secret: `JWT_SECRET`, or one generated once into `DATA_DIR` (mode 0600) and
//! reused after. Its length is checked where every HS256 key is made (`keys`).

use std::path::Path;

use anyhow::Context as _;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use secrecy::ExposeSecret as _;

use crate::config::Settings;

/// The configured secret, or the generated one, and where it came from (for errors).
pub(crate) fn load(settings: &Settings) -> anyhow::Result<(Vec<u8>, String)> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok((
            secret.expose_secret().as_bytes().to_vec(),
            "JWT_SECRET".to_owned(),
        ));
    }
    let path = settings.data_dir.join("jwt-secret");
    let secret = read_or_create(&path)?;
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: using a generated secret; set JWT_SECRET in production \
         (every replica needs the same one)"
    );
    Ok((secret, path.display().to_string()))
}

fn read_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_secret_is_private_and_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sub/jwt-secret");
        let first = read_or_create(&path)?;
        assert_eq!(first.len(), 64);
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_or_create(&path)?, first);
        Ok(())
    }
}
