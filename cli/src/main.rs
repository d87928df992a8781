//! The `tidemark` command: inspect, verify, compact, rewind and migrate checkpoint streams.
//! It only parses arguments, calls the library and prints.

#![deny(unreachable_pub)]

mod cli;
mod commands;
mod demo;
mod demo_cluster;
mod operator;
mod output;
mod render;

fn main() -> std::process::ExitCode {
    cli::main()
}
