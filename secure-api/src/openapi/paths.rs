//! Path templates: axum's route pattern into OpenAPI's, with its parameters.

/// A parameter of a route pattern: `{id}`, or `{*rest}` (the rest of the path).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PathParam {
    pub(super) name: String,
    pub(super) wildcard: bool,
}

/// `/files/{id}/{*rest}` → (`/files/{id}/{rest}`, [`id`, `rest`]): OpenAPI names a parameter
/// by the name inside the braces, and has no wildcard syntax.
pub(super) fn template(pattern: &str) -> (String, Vec<PathParam>) {
    let mut params = Vec::new();
    let segments: Vec<String> = pattern
        .split('/')
        .map(|segment| {
            let Some(inner) = segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) else {
                return segment.to_owned();
            };
            // `{{` / `}}` escape a literal brace in axum's syntax; such a segment is no parameter.
            if inner.starts_with('{') || inner.is_empty() {
                return segment.to_owned();
            }
            let (name, wildcard) = match inner.strip_prefix('*') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            params.push(PathParam { name: name.to_owned(), wildcard });
            format!("{{{name}}}")
        })
        .collect();
    (segments.join("/"), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_come_from_the_pattern() {
        let (path, params) = template("/api/items/{id}");
        assert_eq!(path, "/api/items/{id}");
        assert_eq!(params, [PathParam { name: "id".into(), wildcard: false }]);
    }

    #[test]
    fn a_wildcard_becomes_a_plain_parameter() {
        let (path, params) = template("/files/{owner}/{*rest}");
        assert_eq!(path, "/files/{owner}/{rest}");
        assert_eq!(
            params,
            [PathParam { name: "owner".into(), wildcard: false }, PathParam { name: "rest".into(), wildcard: true }]
        );
    }

    #[test]
    fn static_paths_have_none() {
        assert_eq!(template("/health"), ("/health".to_owned(), Vec::new()));
        assert_eq!(template("/"), ("/".to_owned(), Vec::new()));
    }
}
