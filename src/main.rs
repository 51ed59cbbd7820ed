fn main() -> std::process::ExitCode {
    kmslens::cli::run()
}
