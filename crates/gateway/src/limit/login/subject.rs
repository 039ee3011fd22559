//! Who a login attempt is about: the username (normalised, then only ever kept
//! as a hash), the password (only for the breached check), and the client
//! address (an IPv6 client by its /64).

use aws_lc_rs::digest;

/// Longest normalised username kept (bytes); longer ones are cut at a
/// character boundary, so variants past this length share one counter.
pub(super) const MAX_USERNAME: usize = 256;

/// What the request body says, read once.
pub(super) struct Credentials {
    /// SHA-256 (hex) of the normalised username; `None` when the body is not
    /// JSON, repeats a key, or has no usable username.
    pub(super) user: Option<String>,
    /// The password's bytes, when asked for and a JSON string.
    pub(super) password: Option<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Reads the username (and the password, when `password` is given) at their
/// JSON pointers. A body that repeats an object key has no username: the
/// gateway and the upstream could read different ones.
pub(super) fn credentials(body: &[u8], username: &str, password: Option<&str>) -> Credentials {
    let Ok(value) = crate::authz::json_unique(body) else {
        return Credentials {
            user: None,
            password: None,
        };
    };
    let user = match value.pointer(username) {
        Some(serde_json::Value::String(s)) => Some(normalise(s)),
        Some(n @ serde_json::Value::Number(_)) => Some(n.to_string()),
        _ => None,
    }
    .filter(|u| !u.is_empty())
    .map(|u| crate::hex(digest::digest(&digest::SHA256, u.as_bytes()).as_ref()));
    let password = password
        .and_then(|p| value.pointer(p))
        .and_then(serde_json::Value::as_str)
        .map(|s| s.as_bytes().to_vec());
    Credentials { user, password }
}

/// A username as counted: trimmed, lower case (Unicode), at most
/// [`MAX_USERNAME`] bytes.
pub(super) fn normalise(username: &str) -> String {
    let mut u = username.trim().to_lowercase();
    if u.len() > MAX_USERNAME {
        let mut end = MAX_USERNAME;
        while !u.is_char_boundary(end) {
            end -= 1;
        }
        u.truncate(end);
    }
    u
}
