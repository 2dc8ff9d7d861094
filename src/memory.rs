//! Giving memory back to the operating system after the few allocations that are huge.
//!
//! mimalloc (the binary's allocator) purges freed pages lazily, on its next allocations; an
//! argon2 hash frees 19 MiB on a blocking thread that may then sleep for hours, so without
//! a push the process keeps tens of MiB it no longer uses.
//!
//! mimalloc also asks the kernel for transparent huge pages on its large regions, and a
//! 2 MiB page stays resident as long as any of it is in use: after 1,000 signups the
//! server held 50 to 55 MiB, 20 of them in huge pages, where without them it holds 30.
//! A request's working set is small, so the process turns them off.

/// Turns transparent huge pages off for the whole process (every thread, every mapping,
/// from now on). Call it first thing in `main`.
pub fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes a flag of the
    // process's memory map; it cannot touch memory the program uses. It fails only on
    // kernels older than 3.15, which then keep their default.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Returns the memory this thread freed, and the allocator's empty pages, to the OS.
/// Costs well under a millisecond: call it after a huge allocation is freed, not per request.
pub(crate) fn release_freed() {
    // SAFETY: `mi_collect` takes no pointers and touches only mimalloc's own bookkeeping; it
    // is safe to call from any thread at any time, and does nothing harmful when mimalloc
    // is not the global allocator (the library's tests).
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn huge_pages_are_off_after_disabling() {
        super::disable_huge_pages();
        // SAFETY: PR_GET_THP_DISABLE takes no pointers; it reads the flag just set.
        let flag = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(flag, 1);
    }
}
