//! Compiles the C fixtures of `c/` into one shared library per ABI defect
//! (`bad_tables.c`) and per injected fault (`faults.c`), in
//! `target/<profile>/test-plugins/`, so integration tests can load them.

use std::path::{Path, PathBuf};
use std::process::Command;

const BAD_TABLES: &[(&str, &str)] = &[
    ("bad_magic", "BAD_MAGIC"),
    ("bad_major", "BAD_MAJOR"),
    ("bad_truncated", "BAD_TRUNCATED"),
    ("bad_null_fn", "BAD_NULL_FN"),
    ("bad_null_table", "BAD_NULL_TABLE"),
    ("bad_no_entry", "BAD_NO_ENTRY"),
    ("bad_batch_null", "BAD_BATCH_NULL"),
    ("bad_batch_truncated", "BAD_BATCH_TRUNCATED"),
    ("bad_typed_null", "BAD_TYPED_NULL"),
    ("bad_typed_truncated", "BAD_TYPED_TRUNCATED"),
    ("bad_entry_segv", "BAD_ENTRY_SEGV"),
    ("bad_entry_exit0", "BAD_ENTRY_EXIT0"),
];

/// Plugins that misbehave on a trigger (`c/faults.c`), for the worker tests.
const FAULTS: &[(&str, &str)] = &[
    ("segv_on_serial", "FAULT_SEGV"),
    ("abort_on_serial", "FAULT_ABORT"),
    ("hang_on_serial", "FAULT_HANG"),
    ("spin_on_serial", "FAULT_SPIN"),
    ("stdout_noise", "FAULT_NOISE"),
    ("absurd_length", "FAULT_ABSURD"),
    ("bad_utf8", "FAULT_BADUTF8"),
    ("bad_status", "FAULT_STATUS"),
    ("scribble_fds", "FAULT_SCRIBBLE"),
    ("exit_on_serial", "FAULT_EXIT"),
    ("memory_hog", "FAULT_HOG"),
    ("batch_offset", "FAULT_BATCH_OFFSET"),
    ("batch_short", "FAULT_BATCH_SHORT"),
    ("batch_lie", "FAULT_BATCH_LIE"),
    ("batch_fail", "FAULT_BATCH_FAIL"),
    ("batch_over", "FAULT_BATCH_OVER"),
    ("typed_offset", "FAULT_TYPED_OFFSET"),
    ("typed_length", "FAULT_TYPED_LENGTH"),
    ("typed_utf8", "FAULT_TYPED_UTF8"),
    ("typed_verdict", "FAULT_TYPED_VERDICT"),
    ("typed_date", "FAULT_TYPED_DATE"),
    ("typed_short", "FAULT_TYPED_SHORT"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let include = manifest.join("../../plugins/include");
    let dest = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is <target>/<profile>/build/<pkg>/out")
        .join("test-plugins");
    std::fs::create_dir_all(&dest).expect("create test-plugins dir");
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-changed={}", include.display());
    for (name, define) in BAD_TABLES {
        compile(
            &manifest.join("c/bad_tables.c"),
            &include,
            &[define],
            &dest.join(format!("lib{name}.so")),
        );
    }
    for (name, define) in FAULTS {
        compile(
            &manifest.join("c/faults.c"),
            &include,
            &[define],
            &dest.join(format!("lib{name}.so")),
        );
    }
    compile(
        &manifest.join("c/not_thread_safe.c"),
        &include,
        &[],
        &dest.join("libnot_thread_safe.so"),
    );
    println!("cargo:rustc-env=KC_TEST_PLUGIN_DIR={}", dest.display());
}

fn compile(src: &Path, include: &Path, defines: &[&str], out: &Path) {
    let compiler = cc::Build::new().get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args([
        "-shared",
        "-fPIC",
        "-std=c11",
        "-O1",
        "-Wall",
        "-Werror",
        "-Wno-unused-function",
        "-Wno-unused-const-variable",
        "-fvisibility=hidden",
        "-pthread",
    ])
    .arg(format!("-I{}", include.display()));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let tmp = out.with_extension("so.tmp");
    cmd.arg("-o").arg(&tmp).arg(src);
    let output = cmd.output().expect("run the C compiler");
    if !output.status.success() {
        panic!(
            "compiling {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&tmp, out).expect("install test plugin");
}
