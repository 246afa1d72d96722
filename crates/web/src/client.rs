//! Who is calling, by network address: the connected peer, or — only when the server is told it
//! sits behind a proxy it trusts — the last address that proxy appended to `X-Forwarded-For`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;

/// The client's address, when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown address"),
        }
    }
}

/// The address a trusted proxy says it served: the right-most valid entry of
/// `X-Forwarded-For` (entries to its left were written by the client and prove nothing).
pub fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
}

pub fn client_addr(parts: &Parts, trust_forwarded_for: bool) -> ClientAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if trust_forwarded_for && let Some(ip) = forwarded_for(&parts.headers) {
        return ClientAddr(Some(ip));
    }
    ClientAddr(peer)
}

impl FromRequestParts<Arc<AppState>> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<ClientAddr, Infallible> {
        Ok(client_addr(parts, state.settings.trust_forwarded_for))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(xff: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri("/login");
        if let Some(value) = xff {
            builder = builder.header("x-forwarded-for", value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 5555))));
        parts
    }

    #[test]
    fn the_peer_is_the_client_unless_a_proxy_is_trusted() {
        let spoofed = parts(Some("203.0.113.9"));
        assert_eq!(
            client_addr(&spoofed, false),
            ClientAddr(Some(IpAddr::from([192, 0, 2, 1])))
        );
        let proxied = parts(Some("203.0.113.9, 198.51.100.7"));
        assert_eq!(
            client_addr(&proxied, true),
            ClientAddr(Some(IpAddr::from([198, 51, 100, 7])))
        );
        let garbage = parts(Some("not an address"));
        assert_eq!(
            client_addr(&garbage, true),
            ClientAddr(Some(IpAddr::from([192, 0, 2, 1])))
        );
        assert_eq!(
            client_addr(&parts(None), true),
            ClientAddr(Some(IpAddr::from([192, 0, 2, 1])))
        );
    }
}
