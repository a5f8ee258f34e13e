//! The `keycompat` binary: parses the command line and calls the library.

fn main() {
    std::process::exit(keycompat::cli::main());
}
