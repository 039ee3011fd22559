//! An API's `authorization:` section as written in the gateway config.
//!
//! ```yaml
//! authorization:
//!   mode: enforce                    # or monitor; default: the API's mode
//!   policies: [bank.cedar]           # Cedar files, beside the config
//!   principal_attributes:            # claims exposed to policies, typed
//!     accounts: Set<String>
//!     department: String
//!     clearance: Long
//!   context_headers: [x-device-id]   # context.headers["x-device-id"]
//!   allow: ["tag:public", listAccounts]
//!   require:
//!     - id: admin-role-and-mfa
//!       operations: ["tag:admin"]
//!       roles: [admin]               # at least one of them
//!       mfa: true
//!     - operations: [getAccount, listTransactions]
//!       owner: { path: accountId, claim: accounts }
//!   ip: { allow: [10.0.0.0/8], deny: [10.6.6.0/24] }
//!   operations:
//!     createTransfer:
//!       body: { from: /from }        # resource["from"] from the JSON body
//!       query: [limit]
//!       attributes: { sensitivity: 2 }
//!     getAccount:
//!       response_owner: { pointer: /owner, claim: sub }
//!     listAccounts:
//!       response_owner: { items: /accounts, pointer: /owner, claim: sub, mismatch: filter }
//!   max_response_bytes: 1048576      # buffered for response_owner; larger fails closed
//! ```
//!
//! Operation selectors (in `allow`, `require[].operations`): an `operationId`,
//! `tag:<tag>`, `method:<METHOD>`, `read`, `write`, or `*` (every operation).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The `authorization:` section of one API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthorization {
    /// `enforce` or `monitor`; default: the API's mode.
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    /// Cedar policy files, relative to the config file.
    #[serde(default)]
    pub policies: Vec<Spanned<String>>,
    /// Claim name → Cedar type (`String`, `Long`, `Bool`, `Set<String>`, `Set<Long>`).
    #[serde(default)]
    pub principal_attributes: BTreeMap<String, Spanned<String>>,
    /// Request headers exposed as `context.headers["<lower-case name>"]`.
    #[serde(default)]
    pub context_headers: Vec<Spanned<String>>,
    /// Operations any caller that passed authentication may call (compiled to `permit`).
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    /// Conditions operations require (each compiled to `forbid … unless`).
    #[serde(default)]
    pub require: Vec<RawRequirement>,
    /// Client IP allow and deny lists.
    #[serde(default)]
    pub ip: Option<RawIpLists>,
    /// Per operation (by `operationId`): resource attributes and response ownership.
    #[serde(default)]
    pub operations: BTreeMap<String, RawOperation>,
    /// Largest response buffered for a `response_owner` check (default 1 MiB).
    #[serde(default)]
    pub max_response_bytes: Option<Spanned<u64>>,
}

/// A requirement on a set of operations: every condition given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequirement {
    /// The policy id (default `require[<i>]`).
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    /// Operation selectors.
    pub operations: Vec<Spanned<String>>,
    /// The principal has at least one of these roles.
    #[serde(default)]
    pub roles: Vec<Spanned<String>>,
    /// MFA is attested.
    #[serde(default)]
    pub mfa: Option<bool>,
    /// The object belongs to the caller.
    #[serde(default)]
    pub owner: Option<RawOwner>,
}

/// An ownership rule: a request value must equal (scalar claim) or be contained
/// in (array claim) a claim of the principal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOwner {
    /// A path parameter.
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    /// A query parameter.
    #[serde(default)]
    pub query: Option<Spanned<String>>,
    /// A JSON pointer into the request body.
    #[serde(default)]
    pub body: Option<Spanned<String>>,
    /// The claim (`sub` for the subject).
    pub claim: Spanned<String>,
}

/// CIDR lists; a single address is a /32 or /128.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIpLists {
    /// Only these clients (when non-empty).
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    /// Never these clients.
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
}

/// Per-operation settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOperation {
    /// Query parameters exposed as resource attributes.
    #[serde(default)]
    pub query: Vec<Spanned<String>>,
    /// Resource attribute → JSON pointer into the request body (the body is
    /// then read whole, within the body limit, before the decision).
    #[serde(default)]
    pub body: BTreeMap<String, Spanned<String>>,
    /// Static resource attributes (string, integer, boolean or a list of them).
    #[serde(default)]
    pub attributes: BTreeMap<String, Spanned<serde_json::Value>>,
    /// The response's owner must be the caller.
    #[serde(default)]
    pub response_owner: Option<RawResponseOwner>,
}

/// Ownership checked on the upstream's (2xx, JSON) response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponseOwner {
    /// For list responses: a JSON pointer to the array of items.
    #[serde(default)]
    pub items: Option<Spanned<String>>,
    /// JSON pointer to the owner value (inside each item, for lists).
    pub pointer: Spanned<String>,
    /// The claim the owner must equal or be contained in (`sub` for the subject).
    pub claim: Spanned<String>,
    /// For lists: `filter` (drop items not owned, the default) or `refuse` (403).
    #[serde(default)]
    pub mismatch: Option<Spanned<String>>,
}
