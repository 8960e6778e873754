//! `hearth`: every Hearth capability from the command line, and `hearth serve` (browser mode).

/// mimalloc keeps the model's large per-batch buffers for reuse; glibc's allocator hands
/// anything over 128 KiB back to the kernel at once, and faulting it back in cost 40 % of the
/// time of `cargo xtask bench text`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hearth_cli::cli::main()
}
