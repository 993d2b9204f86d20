//! What one pass records (every field error, in the [`Sink`]) and what passes learn about the
//! request model ([`Learned`]): which structs deny unknown fields and which fields are required.

use std::cell::RefCell;

use super::path::Path;
use crate::validate::error::FieldError;

/// A struct as serde describes it to a deserializer: its name and its field names (with aliases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StructId {
    pub(super) name: &'static str,
    pub(super) fields: &'static [&'static str],
}

/// What earlier passes taught about the request model.
#[derive(Default, Debug)]
pub(super) struct Learned {
    /// Structs that refuse unknown fields.
    pub(super) denies_unknown: Vec<StructId>,
    /// Fields that must be present (no default, not an `Option`).
    pub(super) required: Vec<(StructId, &'static str)>,
}

impl Learned {
    pub(super) fn is_empty(&self) -> bool {
        self.denies_unknown.is_empty() && self.required.is_empty()
    }

    pub(super) fn merge(&mut self, other: Learned) {
        for id in other.denies_unknown {
            if !self.denies_unknown.contains(&id) {
                self.denies_unknown.push(id);
            }
        }
        for entry in other.required {
            if !self.required.contains(&entry) {
                self.required.push(entry);
            }
        }
    }
}

/// Shared by every deserializer of one pass.
pub(super) struct Sink<'l> {
    pub(super) learned: &'l Learned,
    pub(super) errors: RefCell<Vec<FieldError>>,
    pub(super) discovered: RefCell<Learned>,
}

impl Sink<'_> {
    pub(super) fn record(&self, path: &Path<'_>, error: FieldError) {
        self.errors.borrow_mut().push(error.at(path.to_loc()));
    }

    pub(super) fn learn_denies_unknown(&self, id: StructId) {
        if !self.learned.denies_unknown.contains(&id) {
            let mut discovered = self.discovered.borrow_mut();
            if !discovered.denies_unknown.contains(&id) {
                discovered.denies_unknown.push(id);
            }
        }
    }

    pub(super) fn learn_required(&self, id: StructId, field: &'static str) {
        let entry = (id, field);
        if !self.learned.required.contains(&entry) {
            let mut discovered = self.discovered.borrow_mut();
            if !discovered.required.contains(&entry) {
                discovered.required.push(entry);
            }
        }
    }
}
