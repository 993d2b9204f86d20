//! Object-level authorization (OWASP API1, "BOLA"): the test names an object that belongs to
//! one principal and the credentials of another; the scan asks for the object as that other
//! principal on every route of the path, and a `2xx` is a finding.

/// An object that belongs to someone else, and the credentials of a principal who must not get
/// it; see [`ScanCredentials::object_owned_by_other`](super::ScanCredentials::object_owned_by_other).
#[derive(Clone, Debug)]
pub(super) struct ForeignObject {
    /// The route pattern (`/api/items/{id}`), as registered.
    pub(super) path: String,
    /// The object's id, put in every `{parameter}` of the pattern.
    pub(super) id: String,
    /// The other principal's request headers (e.g. `authorization: Bearer ...`).
    pub(super) headers: Vec<(String, crate::secret::Secret<String>)>,
}

impl ForeignObject {
    /// The concrete path of the object: the pattern with its parameters set to the id.
    pub(super) fn concrete_path(&self) -> String {
        self.path
            .split('/')
            .map(
                |segment| {
                    if segment.starts_with('{') && segment.ends_with('}') {
                        self.id.clone()
                    } else {
                        segment.to_owned()
                    }
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_id_fills_the_pattern() {
        let object = ForeignObject { path: "/api/items/{id}".into(), id: "42".into(), headers: Vec::new() };
        assert_eq!(object.concrete_path(), "/api/items/42");
    }
}
