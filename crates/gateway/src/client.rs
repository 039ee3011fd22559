//! Who is calling: the client IP through trusted proxies only, and the forwarding headers.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};
use ipnet::IpNet;

/// `X-Forwarded-For`.
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `Forwarded` (RFC 7239).
pub static FORWARDED: HeaderName = HeaderName::from_static("forwarded");
/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether an address is one of the configured trusted proxies.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = canonical(ip);
    trusted.iter().any(|n| n.contains(&ip))
}

/// The client's address: the socket peer, unless the peer is a trusted proxy, in
/// which case `X-Forwarded-For` is walked from the right past trusted hops.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return canonical(peer);
    }
    let mut client = canonical(peer);
    for v in headers.get_all(&X_FORWARDED_FOR).iter().rev() {
        let Ok(s) = v.to_str() else { return client };
        for hop in s.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                return client;
            };
            client = canonical(ip);
            if !is_trusted(client, trusted) {
                return client;
            }
        }
    }
    client
}

/// What the forwarding headers say about a connection's peer, rendered once per
/// connection rather than once per request.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The peer's address (IPv4-mapped addresses as IPv4).
    pub ip: IpAddr,
    /// `http` or `https`.
    pub proto: &'static str,
    /// The address as an `X-Forwarded-For` element.
    xff: HeaderValue,
    /// `for=<node>;proto=<proto>`, the `Forwarded` element without `host`.
    forwarded: String,
}

impl Peer {
    /// Renders the peer of a cleartext or TLS connection.
    pub fn new(ip: IpAddr, tls: bool) -> Peer {
        let ip = canonical(ip);
        let proto = if tls { "https" } else { "http" };
        let node = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("\"[{v6}]\""),
        };
        let xff =
            HeaderValue::try_from(ip.to_string()).unwrap_or(HeaderValue::from_static("unknown"));
        Peer {
            ip,
            proto,
            xff,
            forwarded: format!("for={node};proto={proto}"),
        }
    }
}

/// Sets `X-Forwarded-For/-Proto/-Host` and `Forwarded` for the upstream, keeping the
/// incoming values only when the peer is trusted.
pub fn set_forwarding(
    headers: &mut HeaderMap,
    peer: &Peer,
    trusted_peer: bool,
    host: Option<&HeaderValue>,
) {
    if !trusted_peer {
        for h in [
            &X_FORWARDED_FOR,
            &X_FORWARDED_PROTO,
            &X_FORWARDED_HOST,
            &FORWARDED,
        ] {
            headers.remove(h);
        }
    }
    match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) => {
            let xff = format!("{prev}, {}", peer.ip);
            insert(headers, &X_FORWARDED_FOR, &xff);
        }
        None => {
            headers.insert(&X_FORWARDED_FOR, peer.xff.clone());
        }
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(peer.proto));
    }
    if let Some(h) = host
        && !headers.contains_key(&X_FORWARDED_HOST)
    {
        headers.insert(&X_FORWARDED_HOST, h.clone());
    }
    let mut fwd = match headers.get(&FORWARDED).and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {}", peer.forwarded),
        None => peer.forwarded.clone(),
    };
    if let Some(h) = host.and_then(|h| h.to_str().ok())
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        fwd.push_str(";host=");
        fwd.push_str(h);
    }
    insert(headers, &FORWARDED, &fwd);
}

fn insert(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::try_from(value) {
        headers.insert(name.clone(), v);
    }
}

/// IPv4-mapped IPv6 addresses are compared as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The request's host: the `Host` header, or the URI authority (HTTP/2).
pub fn host<'a>(
    headers: &'a HeaderMap,
    authority: Option<&'a http::uri::Authority>,
) -> Option<HeaderValue> {
    headers
        .get(header::HOST)
        .cloned()
        .or_else(|| authority.and_then(|a| HeaderValue::try_from(a.as_str()).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().expect("cidr")).collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut h = HeaderMap::new();
        h.insert(
            &X_FORWARDED_FOR,
            "6.6.6.6, 203.0.113.9, 10.1.1.1".parse().expect("hv"),
        );
        let untrusted_peer: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(client_ip(untrusted_peer, &h, &trusted), untrusted_peer);
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
        h.insert(&X_FORWARDED_FOR, "garbage".parse().expect("hv"));
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
    }

    #[test]
    fn spoofed_forwarding_headers_are_replaced() {
        let mut h = HeaderMap::new();
        h.insert(&X_FORWARDED_FOR, "1.2.3.4".parse().expect("hv"));
        h.insert(&FORWARDED, "for=1.2.3.4".parse().expect("hv"));
        let host = HeaderValue::from_static("api.example");
        set_forwarding(
            &mut h,
            &Peer::new("192.0.2.1".parse().expect("ip"), true),
            false,
            Some(&host),
        );
        assert_eq!(h[&X_FORWARDED_FOR], "192.0.2.1");
        assert_eq!(h[&X_FORWARDED_PROTO], "https");
        assert_eq!(h[&X_FORWARDED_HOST], "api.example");
        assert_eq!(h[&FORWARDED], "for=192.0.2.1;proto=https;host=api.example");
        let mut h2 = HeaderMap::new();
        h2.insert(&X_FORWARDED_FOR, "1.2.3.4".parse().expect("hv"));
        set_forwarding(
            &mut h2,
            &Peer::new("::1".parse().expect("ip"), false),
            true,
            None,
        );
        assert_eq!(h2[&X_FORWARDED_FOR], "1.2.3.4, ::1");
        assert_eq!(h2[&FORWARDED], "for=\"[::1]\";proto=http");
    }
}
