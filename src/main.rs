//! The `keycompat` binary: hands the command line to the library's CLI (or,
//! for the hidden `__worker` subcommand, to a plugin worker) and exits with
//! the code it returns.

fn main() {
    // Arguments may be any bytes (a key typed in another encoding): clap
    // reports those that are not UTF-8; only the worker's marker is read here.
    let worker = std::env::args_os().nth(1).is_some_and(|a| a == "__worker");
    if worker {
        keycompat::plugin::exit_guard::arm_worker();
    } else {
        keycompat::plugin::exit_guard::arm();
        // A run's systems are dropped before its reports are written: a
        // plugin's `destroy` must not get to hang or end the process there.
        keycompat::plugin::exit_guard::leave_instances_to_exit();
    }
    if !worker {
        keycompat::plugin::worker::adopt_orphans();
    }
    let code = if worker {
        let rest: Vec<String> = std::env::args_os()
            .skip(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        keycompat::plugin::worker::worker_main(&rest)
    } else {
        keycompat::cli::main()
    };
    keycompat::plugin::exit_guard::finished();
    // Children still running (a plugin that ignores end-of-file) end with us.
    keycompat::plugin::worker::kill_all();
    // And what they started outside their process groups (a daemon's setsid).
    if !worker {
        keycompat::plugin::worker::kill_adopted();
    }
    std::process::exit(code);
}
