//! `generate`, `validate` and `plugin inspect`: one key or one plugin at a time.

use super::output::{errln, out, outln};
use std::io::{BufRead, Write};
use std::path::Path;

use super::args::{GenerateArgs, SystemArgs, ValidateArgs};
use super::error::{CliError, io};
use super::setup::{hosting, load_config};
use crate::entitlement::Entitlement;
use crate::exit;
use crate::implementation::{GenerateFailure, Implementation};
use crate::plugin;
use crate::settings::Settings;
use crate::system::{self, SystemRef};
use crate::verdict::{Context, Validation, Verdict};

pub(super) fn open_system(
    config: Option<&crate::config::Config>,
    args: &SystemArgs,
) -> Result<Box<dyn Implementation>, CliError> {
    let overrides: Settings = args.settings.iter().cloned().collect();
    let hosting = hosting(
        config.map(|c| c.run.isolation).unwrap_or_default(),
        config.map(|c| &c.run),
        1,
    );
    Ok(system::open(
        &SystemRef::parse(&args.system),
        config,
        &overrides,
        &hosting,
    )?)
}

pub(super) fn generate(config_path: Option<&Path>, args: GenerateArgs) -> Result<i32, CliError> {
    let config = load_config(config_path)?;
    let catalog = config
        .as_ref()
        .map(|c| c.catalog.clone())
        .unwrap_or_else(crate::catalog::Catalog::acme);
    let implementation = open_system(config.as_ref(), &args.system)?;
    let (reader, source): (Box<dyn BufRead>, String) = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::open(p).map_err(io(format!("{}", p.display())))?;
            (
                Box::new(std::io::BufReader::new(f)),
                p.display().to_string(),
            )
        }
        _ => (Box::new(std::io::stdin().lock()), "<stdin>".to_string()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut refused, mut invalid, mut failed) = (0usize, 0usize, 0usize);
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io(format!("{source}: line {}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let entitlement = Entitlement::from_json(&line)
            .map_err(|e| e.to_string())
            .and_then(|e| e.check(&catalog).map(|()| e).map_err(|e| e.to_string()));
        let answer = match entitlement {
            Err(message) => {
                invalid += 1;
                errln!("error: {source}:{}: {message}", i + 1);
                Answer::Invalid(message)
            }
            Ok(e) => match implementation.generate(&e) {
                Ok(key) => Answer::Key(key),
                Err(GenerateFailure::Refused { field, reason }) => {
                    refused += 1;
                    Answer::Refused { field, reason }
                }
                Err(GenerateFailure::Failed(f)) => {
                    failed += 1;
                    errln!(
                        "error: {source}:{}: {} could not generate: {f}",
                        i + 1,
                        implementation.info()
                    );
                    Answer::Failed(f.to_string())
                }
            },
        };
        let text = if args.json {
            answer.json()
        } else {
            match answer.text() {
                Ok(text) => text,
                Err(key) => {
                    // One key per line cannot show a key with a line break.
                    invalid += 1;
                    errln!(
                        "error: {source}:{}: the key has a line break, which one key per line \
                         cannot show; hint: --json prints it exactly: {key:?}",
                        i + 1
                    );
                    format!("error: the key has a line break (use --json): {key:?}")
                }
            }
        };
        match writeln!(out, "{text}") {
            Err(e) if super::output::is_closed_pipe(&e) => break,
            written => written.map_err(io("standard output"))?,
        }
    }
    if let Err(e) = out.flush()
        && !super::output::is_closed_pipe(&e)
    {
        return Err(io("standard output")(e));
    }
    // The plugin's failure outranks the input's: nothing it answered is proven.
    Ok(if failed > 0 {
        exit::PLUGIN
    } else if invalid > 0 {
        exit::USAGE
    } else if refused > 0 {
        exit::INCOMPATIBLE
    } else {
        exit::GO
    })
}

/// What `generate` prints for one entitlement.
enum Answer {
    Key(String),
    Refused { field: String, reason: String },
    Invalid(String),
    Failed(String),
}

impl Answer {
    /// The `--json` line.
    fn json(&self) -> String {
        match self {
            Answer::Key(key) => serde_json::json!({ "key": key }),
            Answer::Refused { field, reason } => {
                serde_json::json!({ "refused": { "field": field, "reason": reason } })
            }
            Answer::Invalid(message) => serde_json::json!({ "invalid": message }),
            Answer::Failed(message) => serde_json::json!({ "failed": message }),
        }
        .to_string()
    }

    /// The text line, or the key when it has a line break and so cannot be
    /// one line.
    fn text(&self) -> Result<String, &str> {
        Ok(match self {
            Answer::Key(key) if key.contains(['\n', '\r']) => return Err(key),
            Answer::Key(key) => key.clone(),
            Answer::Refused { field, reason } => format!("error: refused: {field}: {reason}"),
            Answer::Invalid(message) => format!("error: invalid entitlement: {message}"),
            Answer::Failed(message) => format!("error: generate failed: {message}"),
        })
    }
}

pub(super) fn validate(config_path: Option<&Path>, args: ValidateArgs) -> Result<i32, CliError> {
    let config = load_config(config_path)?;
    // A product the catalog does not know is most often a typo (though a
    // validator may be asked about one on purpose, as a vector does).
    if let Some(c) = &config
        && c.catalog.product(&args.product).is_none()
    {
        let known: Vec<&str> = c.catalog.products.iter().map(|p| p.slug.as_str()).collect();
        errln!(
            "warning: --product {:?} is not a product of the catalog in {} (it has {}); validating anyway",
            args.product,
            c.path.display(),
            known.join(", ")
        );
    }
    let implementation = open_system(config.as_ref(), &args.system)?;
    let key: Vec<u8> = if args.key == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(io("standard input"))?;
        buf
    } else {
        args.key.into_bytes()
    };
    let context = Context {
        product: args.product,
        version: args.version,
        today: args.today,
        host_id: args.host_id,
    };
    let validation = implementation
        .validate(&key, &context)
        .map_err(|failure| CliError::Call {
            system: implementation.info().to_string(),
            what: "validate",
            failure,
        })?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string(&validation).expect("validations serialize")
        );
    } else {
        print_validation(&validation);
    }
    Ok(if validation.verdict == Verdict::Valid {
        exit::GO
    } else {
        exit::INCOMPATIBLE
    })
}

fn print_validation(v: &Validation) {
    outln!("verdict: {}", v.verdict);
    if let Some(f) = &v.format {
        outln!("format:  {f}");
    }
    if let Some(r) = &v.reason {
        outln!("reason:  {r}");
    }
    if let Some(d) = &v.decoded {
        let value = serde_json::to_value(d).expect("decodes serialize");
        outln!("decoded:");
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                outln!("  {k}: {v}");
            }
        }
    }
}

/// What `plugin inspect` looks at.
pub(super) enum Inspected {
    /// A plugin library.
    Library(std::path::PathBuf),
    /// A system of the config.
    System(String),
    /// A process plugin's command line, run in the current directory.
    Command(Vec<String>),
}

pub(super) fn inspect(
    config_path: Option<&Path>,
    target: Inspected,
    settings: crate::settings::Settings,
    json: bool,
) -> Result<i32, CliError> {
    use crate::plugin::worker::ProcessCommand;
    let (command, settings) = match target {
        Inspected::Library(path) => return inspect_library(&path, &settings, json),
        Inspected::Command(argv) => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
            (ProcessCommand::new(argv, cwd), settings)
        }
        Inspected::System(name) => {
            let config = load_config(config_path)?.ok_or_else(|| {
                CliError::Usage(format!(
                    "--system {name}: no keycompat.toml here; pass --config"
                ))
            })?;
            let Some(system) = config.systems.get(&name) else {
                return Err(crate::system::OpenError::unknown_system(&name, &config).into());
            };
            let mut merged = system.settings.clone();
            merged.extend(settings);
            match (
                crate::system::process_command(system, &config),
                &system.plugin,
            ) {
                (Some(command), _) => (command, merged),
                (None, Some(path)) => {
                    return inspect_library(&config.plugin_path(path), &merged, json);
                }
                (None, None) => {
                    return Err(CliError::Usage(format!(
                        "system {name:?} is a builtin, compiled into keycompat: there is no plugin to inspect"
                    )));
                }
            }
        }
    };
    let started = std::time::Instant::now();
    let imp = crate::system::open_command(&command, &settings, &crate::system::Hosting::InProcess)?;
    let hello_ms = started.elapsed().as_secs_f64() * 1000.0;
    let info = imp.info();
    let crate::implementation::Origin::Process {
        file,
        sha256,
        protocol,
        formats,
        ..
    } = &info.origin
    else {
        unreachable!("a process plugin has a process origin")
    };
    let caps: Vec<&str> = [
        (info.can_generate, "generate"),
        (info.can_validate, "validate"),
    ]
    .into_iter()
    .filter_map(|(ok, w)| ok.then_some(w))
    .collect();
    if json {
        let v = serde_json::json!({
            "command": command.argv, "cwd": command.cwd, "file": file, "sha256": sha256,
            "name": info.name, "version": info.version, "protocol": protocol,
            "capabilities": caps, "formats": formats, "hello_ms": hello_ms,
        });
        outln!("{v}");
    } else {
        outln!("command:      {}", command.display());
        outln!("cwd:          {}", command.cwd.display());
        match (file, sha256) {
            (Some(f), Some(h)) => {
                outln!("file:         {}", f.display());
                outln!("sha256:       {h}");
            }
            _ => outln!("file:         (no argument names a file: nothing to hash)"),
        }
        outln!("name:         {}", info.name);
        outln!("version:      {}", info.version);
        outln!("protocol:     {protocol} (plugins/PROTOCOL.md)");
        outln!("capabilities: {}", caps.join(", "));
        if !formats.is_empty() {
            outln!("formats:      {}", formats.join(", "));
        }
        outln!("hello:        ready in {hello_ms:.0} ms");
    }
    Ok(exit::GO)
}

/// Set in the child `plugin inspect` loads a library in.
const INSPECT_CHILD: &str = "KEYCOMPAT_INSPECT_CHILD";

/// Loads the library and reads its table; with `settings`, also creates an
/// instance with them, in a worker process (a `create` that crashes is a
/// finding about the plugin, not a crash of keycompat): a plugin whose
/// `create` refuses its settings fails here (exit 3), not in the first run.
/// The library is loaded in a child process (keycompat itself, run again):
/// an entry point that crashes or exits ends the child, and the command
/// says so with exit 3.
fn inspect_library(
    path: &Path,
    settings: &crate::settings::Settings,
    json: bool,
) -> Result<i32, CliError> {
    if std::env::var_os(INSPECT_CHILD).is_none() {
        return inspect_in_child(path);
    }
    let p = plugin::load(path)?;
    let created = if settings.is_empty() {
        None
    } else {
        let options = crate::plugin::WorkerOptions::default();
        crate::plugin::WorkerImpl::spawn(path, settings, options)?;
        Some(settings.len())
    };
    if json {
        let v = serde_json::json!({
            "path": p.path, "sha256": p.sha256, "name": p.name, "version": p.version,
            "abi": format!("{}.{}", p.abi.0, p.abi.1), "struct_size": p.struct_size,
            "flags": p.flags, "capabilities": p.describe_flags(),
            "created_with_settings": created,
        });
        outln!("{v}");
    } else {
        outln!("path:         {}", p.path.display());
        outln!("sha256:       {}", p.sha256);
        outln!("name:         {}", p.name);
        outln!("version:      {}", p.version);
        outln!(
            "abi:          {}.{} (struct_size {})",
            p.abi.0,
            p.abi.1,
            p.struct_size
        );
        outln!(
            "flags:        0x{:x}: {}",
            p.flags,
            p.describe_flags().join(", ")
        );
        match created {
            Some(n) => outln!("create:       an instance was created with {n} setting(s)"),
            None => outln!(
                "create:       not tried (pass --setting KEY=VALUE, or --system NAME, to check it)"
            ),
        }
    }
    Ok(exit::GO)
}

/// Runs this very command again in a child that loads the library, and
/// passes on what it printed and its exit code; a child that a signal
/// ended, or that ended printing nothing, is the plugin's doing.
fn inspect_in_child(path: &Path) -> Result<i32, CliError> {
    use std::io::Read;
    let exe = std::env::current_exe().map_err(io("finding keycompat's own executable"))?;
    let mut child = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(INSPECT_CHILD, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(io("starting a process to load the plugin in"))?;
    let failed = |message: String| -> CliError {
        plugin::PluginError::Loading {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            message,
        }
        .into()
    };
    // Read what it prints beside the wait: a plugin that hangs while
    // loading (a constructor, the entry point, create) must not hang us.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut printed = Vec::new();
        let _ = stdout.read_to_end(&mut printed);
        let _ = tx.send(printed);
    });
    let limit = crate::plugin::worker::MIN_LOAD_TIMEOUT;
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(io("waiting for the plugin's process"))?
        {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!(
                "it did not finish loading within {}s (its constructor, kc_plugin_entry_v1 or create hung); the process that loaded it was killed",
                limit.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // A grandchild the plugin started may still hold the pipe open.
    let printed = rx
        .recv_timeout(std::time::Duration::from_secs(1))
        .unwrap_or_default();
    let printed = String::from_utf8_lossy(&printed);
    out!("{printed}");
    match status.code() {
        Some(code) if code != exit::GO || !printed.trim().is_empty() => Ok(code),
        _ => Err(failed(format!(
            "loading it ended the process that loaded it ({}) before its table could be read",
            crate::plugin::worker::describe_status(status)
        ))),
    }
}

/// `keycompat sample-data`: demo exports, keys issued by the config's old system.
pub(super) fn sample_data(
    config_path: Option<&Path>,
    dir: &Path,
    keys: usize,
    orders: usize,
    seed: u64,
) -> Result<i32, CliError> {
    let config = load_config(config_path)?.ok_or_else(|| {
        CliError::Usage(
            "sample-data needs a keycompat.toml (its old system issues the keys)".into(),
        )
    })?;
    let old = crate::system::open(
        &crate::system::SystemRef::Named(config.run.old.clone()),
        Some(&config),
        &Default::default(),
        &crate::system::Hosting::InProcess,
    )?;
    let written =
        crate::export::write_sample_data(dir, old.as_ref(), &config.catalog, seed, keys, orders)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    errln!(
        "wrote {} and {} ({} entitlements the old system refused were skipped)",
        written.field_keys.display(),
        written.orders.display(),
        written.refused
    );
    let base = config.path.parent().unwrap_or(Path::new("."));
    let rel = dir.strip_prefix(base).unwrap_or(dir);
    out!(
        "{}",
        crate::export::sample_config(&rel.to_string_lossy(), &config.catalog)
    );
    Ok(exit::GO)
}
