//! The store URL's form, checked without ever echoing it (it may hold a
//! password), and the server's name (`host:port`) for logs and `/readyz`.

/// What a store URL must look like, for error messages.
const EXPECTED: &str = "expected redis://[user:password@]host[:port][/db] \
                        or rediss://… for TLS";

/// The parts of a store URL that may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    /// Whether the connection uses TLS (`rediss://`).
    pub(crate) tls: bool,
    /// `host:port` (IPv6 hosts in brackets), no credential.
    pub(crate) server: String,
}

/// Parses a store URL's form. Errors say what is wrong and what is expected,
/// never quoting the URL.
pub(crate) fn parse(url: &str) -> Result<Address, String> {
    let fail = |why: &str| Err(format!("the Redis URL {why}: {EXPECTED}"));
    let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "redis://") {
        (false, r)
    } else if let Some(r) = strip_prefix_ci(url, "rediss://") {
        (true, r)
    } else {
        return fail("has an unsupported scheme");
    };
    if url.contains('#') {
        return fail("must not have a fragment");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("must not contain spaces or control characters");
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // The password may hold '@' only percent-encoded, but the last '@' ends the
    // user info either way.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return fail("has an unclosed IPv6 bracket");
        };
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return fail("has an invalid IPv6 host");
        }
        match after {
            "" => (format!("[{inside}]"), None),
            p => match p.strip_prefix(':') {
                Some(p) => (format!("[{inside}]"), Some(p)),
                None => return fail("has characters after the IPv6 host"),
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (host_port.to_owned(), None),
        }
    };
    if host.is_empty() {
        return fail("has no host");
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return fail("has an invalid host name");
    }
    let port = match port {
        None => 6379,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return fail("has a port that is not a number from 1 to 65535"),
        },
    };
    let path = tail.split_once('?').map_or(tail, |(p, _)| p);
    let db = path.strip_prefix('/').unwrap_or(path);
    if !db.is_empty() && (db.len() > 5 || !db.bytes().all(|b| b.is_ascii_digit())) {
        return fail("has a database that is not a number");
    }
    Ok(Address {
        tls,
        server: format!("{host}:{port}"),
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_name_the_server_without_credentials() {
        for (url, tls, server) in [
            ("redis://localhost", false, "localhost:6379"),
            ("redis://127.0.0.1:6380/2", false, "127.0.0.1:6380"),
            (
                "rediss://user:pa%40ss@cache.internal:6390/0",
                true,
                "cache.internal:6390",
            ),
            ("redis://:s3cret@h:1", false, "h:1"),
            ("redis://[::1]:7000", false, "[::1]:7000"),
            ("REDIS://h/", false, "h:6379"),
            ("redis://h:6379/0?protocol=resp3", false, "h:6379"),
        ] {
            let a = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((a.tls, a.server.as_str()), (tls, server), "{url}");
        }
    }

    #[test]
    fn rejected_forms_say_what_is_expected_and_never_echo_a_password() {
        for url in [
            "http://h:6379",
            "unix:///tmp/redis.sock",
            "redis://",
            "redis://:hunter2@",
            "redis://:hunter2@h:notaport",
            "redis://:hunter2@h:0",
            "redis://:hunter2@h:70000",
            "redis://:hunter2@h/abc",
            "redis://:hunter2@h#insecure",
            "redis://:hunter2@[::1",
            "redis://:hunter2@bad host",
            "hunter2",
        ] {
            let e = parse(url).expect_err(url);
            assert!(e.contains("redis://"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
