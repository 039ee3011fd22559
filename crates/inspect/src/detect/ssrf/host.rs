//! Judging a host as written in a URL: names, IPv4 in every form
//! `inet_aton` accepts (1–4 parts, each decimal, octal `0…` or hex `0x…`),
//! and bracketed IPv6 (with embedded IPv4: mapped, compatible, NAT64, 6to4).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::Sensitivity;

/// What a host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A public or unknown host.
    External,
    /// Loopback, private, link-local, CGNAT or unspecified, written plainly.
    Internal,
    /// An internal address in an odd spelling (`2130706433`, `0x7f.1`,
    /// `[::ffff:7f00:1]`): no benign client writes these.
    Obfuscated,
    /// A cloud metadata endpoint.
    Metadata,
}

impl Verdict {
    /// Whether the verdict is enough at this sensitivity: `Low` keeps
    /// metadata endpoints and odd spellings only.
    pub(super) fn fires(self, level: Sensitivity) -> bool {
        match self {
            Verdict::External => false,
            Verdict::Internal => level >= Sensitivity::Medium,
            Verdict::Obfuscated | Verdict::Metadata => true,
        }
    }
}

/// The host of an authority without userinfo: `[v6]:port` → `[v6]`,
/// `host:port` → `host`.
pub(super) fn strip_port(a: &str) -> &str {
    if a.starts_with('[') {
        return a.find(']').map_or(a, |i| &a[..=i]);
    }
    match a.rfind(':') {
        Some(i) if a[i + 1..].bytes().all(|b| b.is_ascii_digit()) && a[..i].find(':').is_none() => {
            &a[..i]
        }
        _ => a,
    }
}

/// Judges a host (no userinfo, no port).
pub(super) fn judge(host: &str) -> Verdict {
    if host.is_empty() || host.len() > 253 + 2 {
        return Verdict::External;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let inner = inner.split('%').next().unwrap_or(inner);
        return inner.parse::<Ipv6Addr>().map_or(Verdict::External, v6);
    }
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(v) = name(&h) {
        return v;
    }
    match ipv4(&h) {
        Some((ip, plain)) => match v4_class(ip) {
            Verdict::Internal if !plain => Verdict::Obfuscated,
            v => v,
        },
        None => Verdict::External,
    }
}

/// Internal names: `localhost` and its subdomains, metadata names, and
/// public wildcard-DNS names that resolve to loopback or embed an address.
fn name(h: &str) -> Option<Verdict> {
    const METADATA: [&str; 6] = [
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    ];
    if METADATA.contains(&h) {
        return Some(Verdict::Metadata);
    }
    if h == "localhost" || h.ends_with(".localhost") || h == "localhost.localdomain" {
        return Some(Verdict::Internal);
    }
    const LOOPBACK_DNS: [&str; 4] = ["localtest.me", "lvh.me", "vcap.me", "127.0.0.1.nip.io"];
    if LOOPBACK_DNS
        .iter()
        .any(|d| h == *d || h.strip_suffix(d).is_some_and(|p| p.ends_with('.')))
    {
        return Some(Verdict::Obfuscated);
    }
    // `10.0.0.1.nip.io`, `169-254-169-254.sslip.io`: the address is in the name.
    for d in [".nip.io", ".xip.io", ".sslip.io"] {
        if let Some(p) = h.strip_suffix(d) {
            let tail: Vec<&str> = p.rsplit(['.', '-']).take(4).collect();
            if tail.len() == 4 {
                let dotted = format!("{}.{}.{}.{}", tail[3], tail[2], tail[1], tail[0]);
                if let Ok(ip) = dotted.parse::<Ipv4Addr>()
                    && v4_class(ip) != Verdict::External
                {
                    return Some(Verdict::Obfuscated);
                }
            }
        }
    }
    None
}

/// An IPv4 address as `inet_aton` reads it, and whether it was written as
/// plain dotted decimal.
fn ipv4(h: &str) -> Option<(Ipv4Addr, bool)> {
    if h.is_empty()
        || !h
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x')
    {
        return None;
    }
    if let Ok(ip) = h.parse::<Ipv4Addr>() {
        return Some((ip, true));
    }
    let parts: Vec<&str> = h.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        nums.push(number(p)?);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let mut v: u32 = 0;
    for (k, &n) in head.iter().enumerate() {
        v |= (n as u32) << (24 - 8 * k as u32);
    }
    v |= u32::try_from(*last).ok()?;
    Some((Ipv4Addr::from(v), false))
}

/// One `inet_aton` part: `0x…` hex, `0…` octal, else decimal (≤ 32 bits).
fn number(p: &str) -> Option<u64> {
    if p.is_empty() || p.len() > 12 {
        return None;
    }
    let v = if let Some(x) = p.strip_prefix("0x") {
        if x.is_empty() {
            0
        } else {
            u64::from_str_radix(x, 16).ok()?
        }
    } else if p.len() > 1 && p.starts_with('0') {
        u64::from_str_radix(&p[1..], 8).ok()?
    } else {
        p.parse::<u64>().ok()?
    };
    (v <= u64::from(u32::MAX)).then_some(v)
}

/// The class of an IPv4 address.
fn v4_class(ip: Ipv4Addr) -> Verdict {
    let o = ip.octets();
    if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] || o == [169, 254, 170, 2] {
        return Verdict::Metadata;
    }
    let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
    if ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || o[0] == 0
        || cgnat
    {
        Verdict::Internal
    } else {
        Verdict::External
    }
}

/// The class of an IPv6 address (embedded IPv4 judged as IPv4, and always
/// an odd spelling).
fn v6(ip: Ipv6Addr) -> Verdict {
    let seg = ip.segments();
    // AWS's IPv6 metadata endpoint `fd00:ec2::254`.
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Verdict::Metadata;
    }
    if ip.is_loopback() || ip.is_unspecified() {
        return Verdict::Internal;
    }
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // IPv4-compatible `::a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`.
        let o = ip.octets();
        Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else if seg[0] == 0x2002 {
        // 6to4 `2002:AABB:CCDD::`.
        let o = ip.octets();
        Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return match v4_class(v4) {
            Verdict::External => Verdict::External,
            Verdict::Metadata => Verdict::Metadata,
            _ => Verdict::Obfuscated,
        };
    }
    let ula = seg[0] & 0xfe00 == 0xfc00;
    let link_local = seg[0] & 0xffc0 == 0xfe80;
    if ula || link_local {
        Verdict::Internal
    } else {
        Verdict::External
    }
}
