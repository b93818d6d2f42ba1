fn main() -> std::process::ExitCode {
    peforge::cli::main(std::env::args_os())
}
