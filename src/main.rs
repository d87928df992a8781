//! The `tidemark` command: inspect, verify, compact, rewind and migrate checkpoint streams.
//! It only parses arguments, calls the library and prints.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
