//! The process's memory allocator, tuned once at start.
//!
//! glibc's malloc gives threads that allocate at the same time arenas of
//! their own, up to eight per core, and memory freed in one arena is not
//! reused by another. Loupan's threads are many (the runtime's workers, the
//! blocking pool that lays out letters, a thread per SQLite connection), so
//! a batch of 10,500 letters left 830 MiB resident for about 210 MiB in use
//! (W7, bench/results). Two arenas keep what is resident near what is used.
//! glibc reads the limit only when a process starts, so Loupan starts itself
//! once more with `MALLOC_ARENA_MAX=2` (the same process: `exec` keeps the
//! pid); a value the operator set is kept, and elsewhere than on glibc this
//! does nothing.

const VAR: &str = "MALLOC_ARENA_MAX";

/// Restarts the process with few malloc arenas unless the limit is set; returns only if it was (or cannot be).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn restart_with_few_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VAR, "2").exec();
    // Only reached when the restart failed: run on with glibc's default.
    eprintln!("could not restart with {VAR}=2 ({error}); memory may stay resident after large batches");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn restart_with_few_malloc_arenas() {}
