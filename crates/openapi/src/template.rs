//! Checks a path template against what OpenAPI and the router (matchit 0.9) accept.

/// Checks `path` and returns its shape: the template with every parameter
/// name removed (`/a/{id}` → `/a/{}`), so that paths differing only by
/// parameter names can be found. The error is a message for the user.
///
/// The rules are listed on [`Operation`](crate::Operation).
pub(crate) fn check(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "path `{path}` must not contain `?` or `#` (query parameters are declared as parameters)"
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        let params = segment_params(path, segment)?;
        if params.len() > 1 {
            return Err(format!(
                "path `{path}`: segment `{segment}` has more than one parameter; the router \
                 supports one parameter per segment (with an optional literal prefix/suffix)"
            ));
        }
        for name in params {
            if name.is_empty() {
                return Err(format!("path `{path}` has an empty parameter name `{{}}`"));
            }
            if name.starts_with('*') {
                return Err(format!(
                    "path `{path}`: parameter name `{name}` must not start with `*`"
                ));
            }
            if names.contains(&name) {
                return Err(format!("path `{path}` has parameter `{name}` twice"));
            }
            names.push(name);
        }
    }
    Ok(path
        .split('/')
        .map(strip_names)
        .collect::<Vec<_>>()
        .join("/"))
}

/// The parameter names of one segment, or an error for unbalanced braces.
fn segment_params<'a>(path: &str, segment: &'a str) -> Result<Vec<&'a str>, String> {
    let mut params = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in segment.char_indices() {
        match (c, open) {
            ('{', None) => open = Some(i + 1),
            ('{', Some(_)) => return Err(format!("path `{path}` has a `{{` inside a parameter")),
            ('}', Some(start)) => {
                params.push(&segment[start..i]);
                open = None;
            }
            ('}', None) => return Err(format!("path `{path}` has a `}}` without a `{{`")),
            _ => {}
        }
    }
    if open.is_some() {
        return Err(format!(
            "path `{path}` has a `{{` that is not closed in the same segment"
        ));
    }
    Ok(params)
}

/// `img-{id}.png` → `img-{}.png` (the segment is known to be balanced).
fn strip_names(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut inside = false;
    for c in segment.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_router_compatible_templates() {
        assert_eq!(check("/").as_deref(), Ok("/"));
        assert_eq!(
            check("/accounts/{accountId}").as_deref(),
            Ok("/accounts/{}")
        );
        assert_eq!(check("/img/img-{id}.png").as_deref(), Ok("/img/img-{}.png"));
        assert_eq!(check("/a/{x}/b/{y}").as_deref(), Ok("/a/{}/b/{}"));
    }

    #[test]
    fn refuses_bad_templates() {
        for bad in [
            "accounts",
            "/a?b=1",
            "/a/{id",
            "/a/id}",
            "/a/{{id}}",
            "/a/{}",
            "/a/{x}/b/{x}",
            "/files/{name}.{ext}",
            "/a/{*rest}",
            "/a/{x/y}",
        ] {
            assert!(check(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        assert_eq!(check("/pets/{petId}"), check("/pets/{name}"));
        assert_ne!(check("/pets/{petId}"), check("/pets/mine"));
    }
}
