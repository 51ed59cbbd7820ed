fn main() -> std::process::ExitCode {
    kmslens::cli::run()
}

/// jemalloc, not the system allocator, where it builds (not on Windows): glibc keeps what each
/// reader thread freed in that thread's heap, where polars' threads cannot reuse it, so a 20 000-
/// client bundle peaked 80 MB higher and a 100 000-client one 430 MB higher (README, "Performance").
#[cfg(not(windows))]
mod allocator {
    #[global_allocator]
    static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// jemalloc's options (`const char *malloc_conf`): freed pages go back to the system after
    /// 100 ms (its default keeps them 10 s, past the end of most runs), purged by a background
    /// thread rather than by the threads that parse; one arena for all threads, so what a stage's
    /// threads freed is reused by the next stage's (polars' pool, the correlation's thread), not
    /// left in another arena until it decays. `_RJEM_MALLOC_CONF` still overrides them.
    #[unsafe(export_name = "_rjem_malloc_conf")]
    static MALLOC_CONF: Conf =
        Conf(c"background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0,narenas:1".as_ptr());

    #[repr(transparent)]
    struct Conf(*const std::ffi::c_char);

    // SAFETY: the pointer is to a static C string, never written.
    unsafe impl Sync for Conf {}
}
