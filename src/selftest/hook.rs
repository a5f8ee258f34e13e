//! The systems of a selftest, opened once and shared by all its runs: the
//! systems defects are planted in as they are (each run wraps them in its
//! injector), every other one behind a [`Memo`] that remembers its answers
//! across runs. Opening them once also spares every run the start of the
//! worker and process plugins.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::memo::Memo;
use crate::check::OpenHook;
use crate::implementation::Implementation;
use crate::inject::{Injected, Injector, Partner};
use crate::system::OpenError;

type Opened = Option<Arc<dyn Implementation>>;

/// Opens each system once and plants the current injector, if any.
pub(super) struct Shared {
    targets: Vec<String>,
    opened: Mutex<BTreeMap<String, Opened>>,
    memos: Mutex<BTreeMap<String, Arc<dyn Implementation>>>,
    planted: Mutex<Option<Planted>>,
}

/// A defect planted in one system.
#[derive(Clone)]
pub(super) struct Planted {
    /// The system (its ENV copies carry the defect too).
    pub(super) system: String,
    pub(super) injector: Injector,
    /// The generator a flipped format choice issues through.
    pub(super) partner: Option<Partner>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Defects will be planted in `targets`.
    pub(super) fn new(targets: Vec<String>) -> Self {
        Shared {
            targets,
            opened: Mutex::default(),
            memos: Mutex::default(),
            planted: Mutex::default(),
        }
    }

    /// The next runs plant this defect (`None`: no defect).
    pub(super) fn plant(&self, planted: Option<Planted>) {
        *self.planted.lock().unwrap_or_else(PoisonError::into_inner) = planted;
    }

    /// The systems opened so far, as they are (without defect or memo),
    /// by name; ENV copies left out.
    pub(super) fn opened(&self) -> Vec<(String, Arc<dyn Implementation>)> {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(name, _)| !name.contains(" ["))
            .filter_map(|(name, o)| Some((name.clone(), o.clone()?)))
            .collect()
    }

    /// The target `name` is, or is an ENV copy of (`new [TZ=...]`): a
    /// defect is in the code, so every copy of it carries it too.
    fn target_of(&self, name: &str) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| {
                name == t.as_str()
                    || name
                        .strip_prefix(t.as_str())
                        .is_some_and(|rest| rest.starts_with(" ["))
            })
            .map(String::as_str)
    }
}

impl OpenHook for Shared {
    fn system(
        &self,
        name: &str,
        open: &mut dyn FnMut() -> Result<Opened, OpenError>,
    ) -> Result<Opened, OpenError> {
        let raw = {
            let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
            match opened.get(name) {
                Some(o) => o.clone(),
                None => {
                    let o = open()?;
                    opened.insert(name.to_string(), o.clone());
                    o
                }
            }
        };
        let Some(raw) = raw else {
            return Ok(None);
        };
        if let Some(target) = self.target_of(name) {
            let planted = self.planted.lock().unwrap_or_else(PoisonError::into_inner);
            return Ok(Some(match &*planted {
                Some(p) if p.system == target => Arc::new(Injected::with_partner(
                    raw,
                    p.injector.clone(),
                    p.partner.clone(),
                )),
                _ => raw,
            }));
        }
        let mut memos = self.memos.lock().unwrap_or_else(PoisonError::into_inner);
        let memo = memos
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(Memo::new(raw)));
        Ok(Some(Arc::clone(memo)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_a_target_carry_its_defect() {
        let s = Shared::new(vec!["new".into()]);
        assert_eq!(s.target_of("new"), Some("new"));
        assert_eq!(s.target_of("new [TZ=Pacific/Kiritimati]"), Some("new"));
        assert_eq!(s.target_of("new-rust"), None);
        assert_eq!(s.target_of("old"), None);
    }
}
