//! Compiles the C plugin (acme_lk1.c + sha256.c) into a shared library with
//! the C compiler the `cc` crate finds, then copies it atomically into the
//! profile directory (`target/<profile>/`), next to the keycompat binary.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;

/// The C sources of the plugin, relative to the crate directory.
const SOURCES: &[&str] = &["acme_lk1.c", "sha256.c"];
/// Headers the sources include, relative to the crate directory.
const LOCAL_HEADERS: &[&str] = &["sha256.h"];

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();

    // The ABI header lives beside the plugin crates: plugins/include/.
    let include_dir = manifest_dir
        .parent()
        .map(|plugins| plugins.join("include"))
        .unwrap_or_else(|| fail("CARGO_MANIFEST_DIR has no parent directory"));
    let abi_header = include_dir.join("keycompat_plugin.h");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", abi_header.display());
    for file in SOURCES.iter().chain(LOCAL_HEADERS) {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(file).display()
        );
    }
    if !abi_header.is_file() {
        fail(&format!(
            "the plugin ABI header is missing: {}",
            abi_header.display()
        ));
    }

    let lib_name = match target_os.as_str() {
        "macos" | "ios" => "libacme_lk1_c.dylib",
        "windows" => "acme_lk1_c.dll",
        _ => "libacme_lk1_c.so",
    };
    let built = out_dir.join(lib_name);

    compile(&manifest_dir, &include_dir, &target_os, &built);

    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).unwrap_or_else(|| {
        fail(&format!(
            "OUT_DIR has no profile directory: {}",
            out_dir.display()
        ))
    });
    let installed = profile_dir.join(lib_name);
    copy_atomically(&built, &installed);

    let installed = installed.canonicalize().unwrap_or(installed);
    println!(
        "cargo:rustc-env=ACME_LK1_C_PLUGIN_PATH={}",
        installed.display()
    );
}

/// Runs the C compiler once over all sources, producing a shared library.
fn compile(manifest_dir: &Path, include_dir: &Path, target_os: &str, output: &Path) {
    let compiler = cc::Build::new().get_compiler();
    let mut cmd = compiler.to_command();
    if matches!(target_os, "macos" | "ios") {
        cmd.arg("-dynamiclib");
    } else {
        cmd.arg("-shared");
    }
    cmd.args([
        "-fPIC",
        "-std=c11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-fvisibility=hidden",
    ]);
    cmd.arg(format!("-I{}", include_dir.display()));
    for src in SOURCES {
        cmd.arg(manifest_dir.join(src));
    }
    cmd.arg("-o").arg(output);

    let result = cmd.output().unwrap_or_else(|e| {
        fail(&format!(
            "could not run the C compiler {:?}: {e}",
            compiler.path()
        ))
    });
    if !result.status.success() {
        // Show the command line only (not the environment cc sets up).
        let command_line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        fail(&format!(
            "the C compiler failed ({}) building the acme-lk1 plugin\ncommand: {}\n--- stderr ---\n{}--- stdout ---\n{}",
            result.status,
            command_line,
            String::from_utf8_lossy(&result.stderr),
            String::from_utf8_lossy(&result.stdout),
        ));
    }
}

/// Copies `from` to `to` by writing a temporary file in `to`'s directory and
/// renaming it, so a concurrent reader never sees a half-written library.
fn copy_atomically(from: &Path, to: &Path) {
    let dir = to
        .parent()
        .unwrap_or_else(|| fail(&format!("no parent directory for {}", to.display())));
    let file_name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", process::id()));
    if let Err(e) = fs::copy(from, &tmp) {
        let _ = fs::remove_file(&tmp);
        fail(&format!(
            "could not copy {} to {}: {e}",
            from.display(),
            tmp.display()
        ));
    }
    if let Err(e) = fs::rename(&tmp, to) {
        let _ = fs::remove_file(&tmp);
        fail(&format!(
            "could not rename {} to {}: {e}",
            tmp.display(),
            to.display()
        ));
    }
}

fn env_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set (not run by cargo?)")))
}

/// Stops the build with a message cargo shows in full.
fn fail(msg: &str) -> ! {
    eprintln!("error: acme-lk1-c: {msg}");
    process::exit(1);
}
