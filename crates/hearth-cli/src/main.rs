//! `hearth`: every Hearth capability from the command line, and `hearth serve` (browser mode).

fn main() -> std::process::ExitCode {
    hearth_cli::cli::main()
}
