//! Giving memory back to the operating system after the few allocations that are huge.
//!
//! mimalloc (the binary's allocator) purges freed pages lazily, on its next allocations; an
//! argon2 hash frees 19 MiB on a blocking thread that may then sleep for hours, so without
//! a push the process keeps tens of MiB it no longer uses.

/// Returns the memory this thread freed, and the allocator's empty pages, to the OS.
/// Costs well under a millisecond: call it after a huge allocation is freed, not per request.
pub(crate) fn release_freed() {
    // SAFETY: `mi_collect` takes no pointers and touches only mimalloc's own bookkeeping; it
    // is safe to call from any thread at any time, and does nothing harmful when mimalloc
    // is not the global allocator (the library's tests).
    unsafe { libmimalloc_sys::mi_collect(true) }
}
