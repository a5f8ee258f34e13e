//! [`OpenHook`]: how a caller decides how each system of a run is opened.
//! `keycompat selftest` plants a defect in one system and shares the
//! others, opened once, across the runs it makes; a plain run opens every
//! system as the config says.

use std::sync::Arc;

use crate::implementation::Implementation;

/// Decides how each system of a run is opened: `keycompat selftest` plants
/// a defect in one system and shares the others, opened once, across the
/// runs it makes. Called once per system of the matrix, ENV's copies
/// included (a copy is named `SYSTEM [ENVIRONMENT]`).
pub trait OpenHook: Send + Sync + std::fmt::Debug {
    /// The implementation to use for system `name`; `open` opens it as the
    /// config says (`None`: it cannot be opened that way, e.g. an ENV copy
    /// of a system in keycompat's own process).
    fn system(
        &self,
        name: &str,
        open: &mut dyn FnMut() -> Result<Option<Arc<dyn Implementation>>, crate::system::OpenError>,
    ) -> Result<Option<Arc<dyn Implementation>>, crate::system::OpenError>;
}

/// Opens `name` through `hook`, if any.
pub(crate) fn open_hooked(
    hook: Option<&dyn OpenHook>,
    name: &str,
    open: &mut dyn FnMut() -> Result<Option<Arc<dyn Implementation>>, crate::system::OpenError>,
) -> Result<Option<Arc<dyn Implementation>>, crate::system::OpenError> {
    match hook {
        Some(h) => h.system(name, open),
        None => open(),
    }
}
