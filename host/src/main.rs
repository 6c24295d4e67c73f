fn main() -> std::process::ExitCode {
    ops::cli::main()
}
