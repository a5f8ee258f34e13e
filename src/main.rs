//! The `keycompat` binary: parses the command line and calls the library.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__worker") {
        std::process::exit(keycompat::plugin::worker::worker_main(&args[2..]))
    }
    std::process::exit(keycompat::cli::main());
}
