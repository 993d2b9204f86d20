//! Raising the process's open-file limit at start-up, as servers such as nginx and Go's net/http
//! users do: every connection is a file descriptor, and the common soft limit of 1024 is far
//! below what a public API must hold (each open connection, plus what the app itself opens).

/// Raises the soft limit on open files (`RLIMIT_NOFILE`) to the hard limit and returns the new
/// soft limit; logs the figure (target `secure_api::serve`). Call it once at start-up, before
/// serving. On platforms without the limit it returns `Ok(None)`.
///
/// Keep [`ConnectionLimits::max_connections`](crate::serve::ConnectionLimits::max_connections) below the
/// figure so that the cap, not the kernel, refuses the excess.
///
/// # Examples
/// ```
/// if let Ok(Some(limit)) = secure_api::serve::raise_open_file_limit() {
///     assert!(limit > 0);
/// }
/// ```
pub fn raise_open_file_limit() -> std::io::Result<Option<u64>> {
    #[cfg(unix)]
    {
        if !rlimit::Resource::NOFILE.is_supported() {
            return Ok(None);
        }
        let (before, hard) = rlimit::Resource::NOFILE.get()?;
        let now = rlimit::increase_nofile_limit(u64::MAX)?;
        tracing::info!(target: "secure_api::serve", soft_before = before, soft = now, hard, "open-file limit (RLIMIT_NOFILE)");
        Ok(Some(now))
    }
    #[cfg(not(unix))]
    {
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let limit = raise_open_file_limit().unwrap().unwrap();
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!(soft, limit);
        assert_eq!(soft, hard, "raised all the way");
    }
}
