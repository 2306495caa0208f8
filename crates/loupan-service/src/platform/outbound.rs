//! Where Loupan may send requests of its own (webhooks): public addresses, and
//! inside the company network only the networks an administrator allows
//! (`LOUPAN_WEBHOOK_ALLOW`). Loopback, private, link-local, shared and other
//! special ranges are refused by default, so that a webhook cannot be aimed at
//! the server's own admin port or a cloud metadata address. Host names are
//! resolved when a delivery is sent and every address they resolve to is
//! checked; the request then goes to the address that was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A network such as `10.0.0.0/8` or one address (`192.168.1.20`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// `10.0.0.0/8`, `fd00::/8` or an address alone (all of its bits).
    pub fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("`{text}` is not an address or a network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("`{text}`: bad prefix"))?,
        };
        Ok(Network { addr, prefix })
    }

    /// A comma-separated list; empty allows nothing beyond public addresses.
    pub fn parse_list(text: &str) -> Result<Vec<Network>, String> {
        text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(Network::parse).collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Reachable on the internet: none of the loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast or reserved ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and other leftovers of ::/96
}

/// May Loupan send to `ip`: a public address, or one inside an allowed network.
pub fn permitted(ip: IpAddr, allowed: &[Network]) -> bool {
    is_public(ip) || allowed.iter().any(|n| n.contains(ip))
}

/// The host of a URL as typed, judged before any lookup: `localhost` and
/// addresses outside the permitted ones are refused at once.
pub fn host_refused(host: &str, allowed: &[Network]) -> bool {
    let host = host.trim_end_matches('.').trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return !allowed.iter().any(|n| n.contains(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
    host.parse::<IpAddr>().is_ok_and(|ip| !permitted(ip, allowed))
}

/// Why no address was vetted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unvetted {
    /// The name did not resolve (now): worth trying again later.
    Unresolved(String),
    /// It resolves to an address Loupan may not send to: final.
    Refused(String),
}

/// Resolves `host` and returns an address to send to, if every address it
/// resolves to is permitted (one forbidden answer refuses the host, so a
/// name cannot mix a public and an internal address).
pub async fn vetted_address(host: &str, port: u16, allowed: &[Network]) -> Result<SocketAddr, Unvetted> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| Unvetted::Unresolved(format!("could not resolve {host}: {e}")))?
            .collect(),
    };
    match addrs.iter().find(|a| !permitted(a.ip(), allowed)) {
        Some(bad) => Err(Unvetted::Refused(format!(
            "{host} resolves to {}, which is not allowed (LOUPAN_WEBHOOK_ALLOW)",
            bad.ip()
        ))),
        None => addrs.first().copied().ok_or_else(|| Unvetted::Unresolved(format!("{host} resolves to no address"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_and_special_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "203.119.1.1", "2400:3200::1", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_their_range() {
        let allowed = Network::parse_list("10.20.0.0/16, 127.0.0.1").unwrap();
        assert!(permitted(ip("10.20.3.4"), &allowed));
        assert!(!permitted(ip("10.21.0.1"), &allowed));
        assert!(permitted(ip("127.0.0.1"), &allowed));
        assert!(!permitted(ip("127.0.0.2"), &allowed));
        assert!(permitted(ip("::ffff:10.20.0.9"), &allowed), "a mapped address is judged as IPv4");
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("intranet").is_err());
        assert!(Network::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn hosts_are_judged_before_any_lookup() {
        assert!(host_refused("localhost", &[]));
        assert!(host_refused("LOCALHOST.", &[]));
        assert!(host_refused("api.localhost", &[]));
        assert!(host_refused("127.0.0.1", &[]));
        assert!(host_refused("[::1]", &[]));
        assert!(!host_refused("hooks.example.com", &[]), "names are checked when resolved");
        assert!(!host_refused("8.8.8.8", &[]));
        assert!(!host_refused("127.0.0.1", &Network::parse_list("127.0.0.0/8").unwrap()));
    }
}
