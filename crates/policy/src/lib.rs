//! Cedar authorization for Portcullis: one compiled policy set per API, the
//! mapping of a request to a Cedar request, declarative shortcuts compiled to
//! Cedar, ownership checks on responses, and decisions that name the policies
//! that made them.
//!
//! The gateway parses an API's `authorization:` section into [`RawAuthorization`]
//! and compiles it with [`Policies::compile`] at config load; a request's facts
//! ([`Facts`]) are then decided by [`Policies::decide`] in microseconds.
//!
//! The Cedar model (the schema is generated from the OpenAPI spec and the
//! config; `Policies::schema_text` prints it):
//! - principal: `User` (JWT, introspection), `ApiKey`, `Service` (mTLS), `Signer`
//!   (HTTP signatures) or `Anonymous`, with `Role::"<role>"` parents and the
//!   claims declared under `principal_attributes` as attributes;
//! - action: `Action::"<operationId>"`, member of `Action::"tag:<tag>"`,
//!   `Action::"method:<METHOD>"` and `Action::"read"` (GET, HEAD, OPTIONS) or
//!   `Action::"write"` (the rest);
//! - resource: an entity of the operation's own type (the `operationId`, made an
//!   identifier), whose id is the request path and whose attributes are the path
//!   parameters, the selected query parameters and body fields, and static
//!   attributes from config;
//! - context: client IP, TLS and mTLS, MFA, token age, time, scopes and the
//!   request headers the config exposes.
//!
//! Deny by default: a request is allowed only when a `permit` matches and no
//! `forbid` does. A `forbid` that fails to evaluate denies too.

mod compile;
mod config;
mod decide;
mod load;
mod owner;
mod schema;
mod shortcut;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

pub use compile::Policies;
pub use config::{
    RawAuthorization, RawIpLists, RawOperation, RawOwner, RawRequirement, RawResponseOwner,
};
pub use owner::{OwnerVerdict, ResponseOwner};

/// One problem in an API's authorization config or in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The policy file the problem is in; `None`: the gateway config file.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The config field, relative to the API (`authorization.require[0].roles`).
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

/// How the gateway resolves and remembers files the authorization config names:
/// a path relative to the config file's directory goes in, the absolute path
/// (registered for reload watching and the config version) comes out.
pub type Resolve<'a> = &'a mut dyn FnMut(&str) -> PathBuf;

/// Who is asking, as far as a policy is concerned (borrowed from the gateway's
/// verified principal).
#[derive(Debug, Clone, Copy)]
pub struct PrincipalFacts<'a> {
    /// `jwt`, `introspection`, `api_key`, `mtls` or `signature`: picks the entity type.
    pub method: &'a str,
    /// The subject: the entity id and the `sub` attribute.
    pub subject: &'a str,
    /// The issuer or provider (`iss`).
    pub issuer: &'a str,
    /// Roles: `Role` parents and the `roles` attribute.
    pub roles: &'a [Arc<str>],
    /// Granted scopes.
    pub scopes: &'a [Arc<str>],
    /// The tenant, if any.
    pub tenant: Option<&'a str>,
    /// MFA attested (`amr`/`acr`).
    pub mfa: bool,
    /// `iat`, seconds since the epoch.
    pub issued_at: Option<u64>,
    /// The raw claims; the declared `principal_attributes` are read from here.
    pub claims: &'a serde_json::Map<String, serde_json::Value>,
}

/// Everything a decision may look at for one request.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The operation's id (`operationId`, or `METHOD /template` when the spec gives none).
    pub operation: &'a str,
    /// The request path as routed (the resource entity's id).
    pub path: &'a str,
    /// The verified principal; `None`: anonymous.
    pub principal: Option<PrincipalFacts<'a>>,
    /// Path parameters by template name, as matched.
    pub path_params: &'a [(&'a str, &'a str)],
    /// The raw query string (selected parameters are percent-decoded from it).
    pub query: Option<&'a str>,
    /// The request headers (only those listed in `context_headers` are read).
    pub headers: &'a http::HeaderMap,
    /// The JSON request body, when the operation selects body fields and it parsed.
    pub body: Option<&'a serde_json::Value>,
    /// The client address (through trusted proxies).
    pub client_ip: IpAddr,
    /// The client connection is TLS.
    pub tls: bool,
    /// The client presented a verified certificate.
    pub mtls: bool,
    /// The time of the request.
    pub now: SystemTime,
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allowed (a permit matched, no forbid did, no forbid failed).
    pub allowed: bool,
    /// The policies that determined it: the matching permits when allowed, the
    /// matching (or failing) forbids when denied; empty for a default deny.
    pub policies: Vec<Arc<str>>,
    /// Evaluation errors, `policy id: message` (a failing forbid denies).
    pub errors: Vec<String>,
}

/// Whether decisions are enforced or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A denial refuses the request (403).
    Enforce,
    /// A denial is logged and counted; the request goes on.
    Monitor,
}
