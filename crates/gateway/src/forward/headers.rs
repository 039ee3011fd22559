//! Header hygiene on the way through: hop-by-hop headers never cross the gateway, and
//! identity headers are only ever set by the gateway itself.

use http::{HeaderMap, HeaderName, header};

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
    headers.remove(header::PROXY_AUTHENTICATE);
}

/// Removes every `X-Portcullis-*` header a client sent: upstreams trust these as the
/// gateway's word on who the caller is, so only the gateway may set them.
pub fn strip_identity_headers(headers: &mut HeaderMap) {
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("x-portcullis-"))
        .cloned()
        .collect();
    for n in spoofed {
        headers.remove(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_named_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            "close, x-secret-hop".parse().expect("hv"),
        );
        h.insert("x-secret-hop", "1".parse().expect("hv"));
        h.insert("keep-alive", "timeout=5".parse().expect("hv"));
        h.insert(header::TE, "trailers".parse().expect("hv"));
        h.insert(header::ACCEPT, "*/*".parse().expect("hv"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn identity_headers_cannot_be_spoofed() {
        let mut h = HeaderMap::new();
        h.insert("x-portcullis-subject", "u-admin".parse().expect("hv"));
        h.insert("x-portcullis-roles", "admin".parse().expect("hv"));
        h.insert("x-other", "kept".parse().expect("hv"));
        strip_identity_headers(&mut h);
        assert_eq!(h.len(), 1);
    }
}
