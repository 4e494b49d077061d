//! The webhook destination policy: what a `notify_url` may be, checked when a job is submitted
//! ([`WebhookPolicy::check`]) and again on every address the sender is about to dial
//! ([`PolicyResolver`]), so a name that resolves to a public address at submit and to an
//! internal one later (DNS rebinding) is still refused.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::address::AddressPolicy;

/// What a resolver fails with (reqwest's own alias is private).
type ResolveError = Box<dyn std::error::Error + Send + Sync>;

/// How long a submit waits for the `notify_url`'s host to resolve.
const SUBMIT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a `notify_url` is refused. The texts are for the submitter; they name the submitter's
/// own URL and nothing of the server's network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("notify_url must be an absolute http:// or https:// URL")]
    NotHttp,
    #[error("notify_url must not carry a user name or password")]
    Credentials,
    #[error("notify_url's host `{0}` could not be resolved")]
    Unresolvable(String),
    #[error(
        "notify_url's host `{0}` is not a public address (loopback, private, link-local and \
         similar addresses are refused unless the server's [webhooks] allow_private lists them)"
    )]
    NotPublic(String),
}

/// The error a [`PolicyResolver`] fails a connection with: every address of the name was
/// refused. Found again in the request's error chain to report "refused by policy".
#[derive(Debug, thiserror::Error)]
#[error("refused by policy")]
pub struct RefusedByPolicy;

/// Where a `notify_url` points, once its form is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// An address literal (`url` normalises `2130706433`, `127.1` and `0x7f.1` to one).
    Address(IpAddr),
    /// A name to resolve.
    Name(String),
}

/// Checks the form of a `notify_url`: http(s), no credentials, a host.
pub(crate) fn destination(raw: &str) -> Result<Destination, Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => Ok(Destination::Address(IpAddr::V4(ip))),
        Some(Host::Ipv6(ip)) => Ok(Destination::Address(IpAddr::V6(ip))),
        Some(Host::Domain(name)) if !name.is_empty() => Ok(Destination::Name(name.to_owned())),
        _ => Err(Refusal::NotHttp),
    }
}

/// The address policy with the resolver that names are resolved through, both at submit and
/// when a webhook is sent.
#[derive(Clone)]
pub struct WebhookPolicy {
    addresses: AddressPolicy,
    resolver: Arc<dyn Resolve>,
}

impl fmt::Debug for WebhookPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookPolicy")
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy::new(AddressPolicy::public_only())
    }
}

impl WebhookPolicy {
    /// Names resolved by the system resolver.
    pub fn new(addresses: AddressPolicy) -> WebhookPolicy {
        WebhookPolicy::with_resolver(addresses, Arc::new(SystemResolver))
    }

    /// Names resolved by `resolver` (tests use one that answers what they choose).
    pub fn with_resolver(addresses: AddressPolicy, resolver: Arc<dyn Resolve>) -> WebhookPolicy {
        WebhookPolicy {
            addresses,
            resolver,
        }
    }

    pub fn addresses(&self) -> &AddressPolicy {
        &self.addresses
    }

    /// The submit-time check: the URL's form, and every address its host resolves to now.
    pub async fn check(&self, raw: &str) -> Result<(), Refusal> {
        let name = match destination(raw)? {
            Destination::Address(ip) if self.addresses.permits(ip) => return Ok(()),
            Destination::Address(ip) => return Err(Refusal::NotPublic(ip.to_string())),
            Destination::Name(name) => name,
        };
        let unresolvable = || Refusal::Unresolvable(name.clone());
        let parsed: Name = name.parse().map_err(|_| unresolvable())?;
        let lookup = tokio::time::timeout(SUBMIT_RESOLVE_TIMEOUT, self.resolver.resolve(parsed));
        let addrs: Vec<SocketAddr> = match lookup.await {
            Ok(Ok(addrs)) => addrs.collect(),
            _ => return Err(unresolvable()),
        };
        if addrs.is_empty() {
            return Err(unresolvable());
        }
        if addrs.iter().any(|a| !self.addresses.permits(a.ip())) {
            return Err(Refusal::NotPublic(name));
        }
        Ok(())
    }

    /// The resolver the sender's HTTP client dials through: this policy's resolver with every
    /// refused address taken out.
    pub(crate) fn dialling_resolver(&self) -> PolicyResolver {
        PolicyResolver {
            addresses: self.addresses.clone(),
            inner: self.resolver.clone(),
        }
    }
}

/// Resolves through `inner` and keeps only the addresses the policy permits; a name left with
/// none fails with [`RefusedByPolicy`]. Since the HTTP client dials only what its resolver
/// answers, the address checked is the address connected to.
pub(crate) struct PolicyResolver {
    addresses: AddressPolicy,
    inner: Arc<dyn Resolve>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let addresses = self.addresses.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = inner.resolve(name).await?.collect();
            let permitted: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| addresses.permits(a.ip()))
                .collect();
            if permitted.len() < all.len() {
                let refused: Vec<IpAddr> = all
                    .iter()
                    .map(SocketAddr::ip)
                    .filter(|ip| !addresses.permits(*ip))
                    .collect();
                tracing::warn!(%host, ?refused, "webhook addresses refused by policy");
            }
            if permitted.is_empty() {
                return Err::<Addrs, ResolveError>(Box::new(RefusedByPolicy));
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// The operating system's resolver (`getaddrinfo` on tokio's blocking pool).
struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok::<Addrs, ResolveError>(Box::new(addrs.into_iter()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn numeric_hosts_are_read_as_the_address_they_dial() {
        let loopback = Destination::Address(IpAddr::V4(Ipv4Addr::LOCALHOST));
        for url in [
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://127.1/hook",
            "http://0x7f.1/hook",
            "http://0177.0.0.1/hook",
            "https://127.0.0.1:8443/",
        ] {
            assert_eq!(destination(url), Ok(loopback.clone()), "{url}");
        }
        assert_eq!(
            destination("http://[::1]:9/x"),
            Ok(Destination::Address(IpAddr::V6(Ipv6Addr::LOCALHOST)))
        );
        assert_eq!(
            destination("http://0.0.0.0/"),
            Ok(Destination::Address(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
        );
        assert_eq!(
            destination("http://LocalHost./x"),
            Ok(Destination::Name("localhost.".into()))
        );
    }

    #[test]
    fn only_http_without_credentials() {
        for url in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://x/",
            "/relative",
        ] {
            assert_eq!(destination(url), Err(Refusal::NotHttp), "{url}");
        }
        for url in ["http://user:pw@example.com/", "https://user@example.com/"] {
            assert_eq!(destination(url), Err(Refusal::Credentials), "{url}");
        }
    }
}
