//! The `realskin` command. Everything it does is in [`realskin::app::cli`]: the arguments,
//! and one function per command over the library.

fn main() -> std::process::ExitCode {
    realskin::app::cli::main()
}
