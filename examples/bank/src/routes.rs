//! Routing and handlers: one arm per operation, none of them checks who is asking.

use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::json;

use crate::App;
use crate::identity::Caller;
use crate::reply::{self, Body};
use crate::state::Bank;
use crate::transfer::TransferRequest;
use crate::users::ProfileError;
use crate::{form, leaks};

/// Largest request body the bank reads.
const MAX_BODY: usize = 64 * 1024;

/// Public branches: id and city.
const BRANCHES: [(&str, &str); 3] = [
    ("br-berlin", "Berlin"),
    ("br-paris", "Paris"),
    ("br-madrid", "Madrid"),
];

/// FX rates against EUR; any other code crashes the (simulated) rate service.
const RATES: [(&str, f64); 3] = [("USD", 1.0842), ("GBP", 0.8571), ("CHF", 0.9412)];

/// Every path the bank answers, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Health,
    DebugEnv,
    Branches,
    Branch(&'a str),
    Rate(&'a str),
    Accounts,
    Account(&'a str),
    Transactions(&'a str),
    Cards(&'a str),
    Transfers,
    Me,
    SupportMessages,
    Users,
    User(&'a str),
    AccountV1(&'a str),
}

impl<'a> Route<'a> {
    /// Matches a path; `None` is a 404.
    fn parse(path: &'a str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let route = match segments.as_slice() {
            ["healthz"] => Self::Health,
            ["debug", "env"] => Self::DebugEnv,
            ["v2", "branches"] => Self::Branches,
            ["v2", "branches", id] => Self::Branch(id),
            ["v2", "rates", code] => Self::Rate(code),
            ["v2", "accounts"] => Self::Accounts,
            ["v2", "accounts", id] => Self::Account(id),
            ["v2", "accounts", id, "transactions"] => Self::Transactions(id),
            ["v2", "accounts", id, "cards"] => Self::Cards(id),
            ["v2", "transfers"] => Self::Transfers,
            ["v2", "me"] => Self::Me,
            ["v2", "support", "messages"] => Self::SupportMessages,
            ["v2", "admin", "users"] => Self::Users,
            ["v2", "admin", "users", id] => Self::User(id),
            ["v1", "accounts", id] => Self::AccountV1(id),
            _ => return None,
        };
        Some(route)
    }

    /// Whether anyone may call it, even when identity tokens are required.
    fn is_public(self) -> bool {
        matches!(
            self,
            Self::Health | Self::Branches | Self::Branch(_) | Self::Rate(_)
        )
    }

    /// The methods each path accepts.
    fn methods(self) -> &'static [Method] {
        match self {
            Self::Transfers | Self::SupportMessages => &[Method::POST],
            Self::Accounts | Self::Users => &[Method::GET, Method::POST],
            Self::Me => &[Method::GET, Method::PATCH],
            Self::User(_) => &[Method::DELETE],
            Self::Health
            | Self::DebugEnv
            | Self::Branches
            | Self::Branch(_)
            | Self::Rate(_)
            | Self::Account(_)
            | Self::Transactions(_)
            | Self::Cards(_)
            | Self::AccountV1(_) => &[Method::GET],
        }
    }
}

/// Answers one request. Never fails: every problem is an HTTP response.
pub(crate) async fn handle(app: &App, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let route = Route::parse(parts.uri.path());
    // With identity tokens required, only the public routes skip them (even a 404 waits).
    let caller = match &app.verifier {
        None => Caller::from_headers(&parts.headers),
        Some(_) if route.is_some_and(Route::is_public) => Caller::default(),
        Some(verifier) => match verifier.caller(&parts.headers).await {
            Ok(caller) => caller,
            Err(reason) => return reply::error(StatusCode::UNAUTHORIZED, reason),
        },
    };
    let Some(route) = route else {
        return reply::error(StatusCode::NOT_FOUND, "not found");
    };
    let method = parts.method;
    if !route.methods().contains(&method) {
        let mut response = reply::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        let allow: Vec<&str> = route.methods().iter().map(Method::as_str).collect();
        if let Ok(allow) = HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(ALLOW, allow);
        }
        return response;
    }
    // Read the body before taking the lock: no lock is held across an await.
    let bytes = if method == Method::POST || method == Method::PATCH {
        match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return reply::error(StatusCode::BAD_REQUEST, "unreadable body"),
        }
    } else {
        Bytes::new()
    };
    let subject = caller.subject.as_deref();
    let query = parts.uri.query();
    let bank = &app.bank;
    match (route, method) {
        (Route::Health, _) => reply::text(StatusCode::OK, "ok".to_owned()),
        (Route::DebugEnv, _) => reply::json(StatusCode::OK, &leaks::debug_env()),
        (Route::Branches, _) => branches(),
        (Route::Branch(id), _) => branch(id),
        (Route::Rate(code), _) => rate(code),
        (Route::Accounts, Method::POST) => created(lock(bank).open_account(&bytes, subject)),
        (Route::Accounts, _) => accounts(&lock(bank), subject, query),
        (Route::Account(id), _) => account(&lock(bank), id),
        (Route::Transactions(id), _) => transactions(&lock(bank), id, query),
        (Route::Cards(id), _) => cards(&lock(bank), id),
        (Route::Transfers, _) => transfer(&mut lock(bank), &bytes, subject),
        (Route::Me, Method::PATCH) => match lock(bank).update_profile(subject, &bytes) {
            Ok(user) => reply::json(StatusCode::OK, &user),
            Err(ProfileError::NoSuchUser) => no_such_user(),
            Err(ProfileError::Malformed(why)) => reply::error(StatusCode::BAD_REQUEST, why),
        },
        (Route::Me, _) => match subject.and_then(|id| lock(bank).user(id).cloned()) {
            Some(user) => reply::json(StatusCode::OK, &user),
            None => no_such_user(),
        },
        (Route::SupportMessages, _) => created(lock(bank).receive_message(&bytes, subject)),
        (Route::Users, Method::POST) => created(lock(bank).create_user(&bytes)),
        (Route::Users, _) => reply::json(StatusCode::OK, &json!({ "users": lock(bank).users })),
        (Route::User(id), _) => delete_user(&mut lock(bank), id),
        (Route::AccountV1(id), _) => match lock(bank).account_v1(id) {
            Some(v1) => reply::json(StatusCode::OK, &v1),
            None => no_such_account(),
        },
    }
}

/// A `201` with the created object, or a `400` with the reason.
fn created<T: Serialize>(result: Result<T, &'static str>) -> Response<Body> {
    match result {
        Ok(value) => reply::json(StatusCode::CREATED, &value),
        Err(why) => reply::error(StatusCode::BAD_REQUEST, why),
    }
}

fn lock(bank: &Mutex<Bank>) -> MutexGuard<'_, Bank> {
    bank.lock().unwrap_or_else(PoisonError::into_inner)
}

fn branches() -> Response<Body> {
    let branches: Vec<_> = BRANCHES
        .iter()
        .map(|(id, city)| json!({ "id": id, "city": city }))
        .collect();
    reply::json(StatusCode::OK, &json!({ "branches": branches }))
}

fn branch(id: &str) -> Response<Body> {
    match BRANCHES.iter().find(|(known, _)| *known == id) {
        Some((id, city)) => reply::json(StatusCode::OK, &json!({ "id": id, "city": city })),
        None => reply::error(StatusCode::NOT_FOUND, "no such branch"),
    }
}

fn rate(code: &str) -> Response<Body> {
    match RATES.iter().find(|(known, _)| *known == code) {
        Some((currency, rate)) => reply::json(
            StatusCode::OK,
            &json!({ "base": "EUR", "currency": currency, "rate": rate }),
        ),
        // Naive: the crash and its internals go straight to the client.
        None => reply::text(StatusCode::INTERNAL_SERVER_ERROR, leaks::stack_trace(code)),
    }
}

/// The accounts of `?owner=` if given, else the subject's, else every account.
/// Naive: `?owner=` is believed whoever asks (list BOLA).
fn accounts(bank: &Bank, subject: Option<&str>, query: Option<&str>) -> Response<Body> {
    let limit = match limit(query) {
        Ok(limit) => limit,
        Err(()) => return reply::error(StatusCode::BAD_REQUEST, "invalid limit"),
    };
    let owner = form::value(query, "owner");
    let owner = owner.as_deref().or(subject);
    let accounts: Vec<_> = bank
        .accounts
        .iter()
        .filter(|a| owner.is_none_or(|o| a.owner == o))
        .take(limit)
        .collect();
    reply::json(StatusCode::OK, &json!({ "accounts": accounts }))
}

/// `?limit=N`; absent means no limit.
fn limit(query: Option<&str>) -> Result<usize, ()> {
    match form::value(query, "limit") {
        None => Ok(usize::MAX),
        Some(v) => v.parse().map_err(|_| ()),
    }
}

fn account(bank: &Bank, id: &str) -> Response<Body> {
    match bank.account(id) {
        Some(account) => reply::json(StatusCode::OK, account),
        None => no_such_account(),
    }
}

/// The transactions of an account, filtered by `?q=` (text in the
/// description), `?type=debit|credit` and `?limit=N`. The `X-Request-Purpose`
/// header and the `last_search` cookie are "for the logs": ignored.
fn transactions(bank: &Bank, id: &str, query: Option<&str>) -> Response<Body> {
    if bank.account(id).is_none() {
        return no_such_account();
    }
    let Ok(limit) = limit(query) else {
        return reply::error(StatusCode::BAD_REQUEST, "invalid limit");
    };
    let text = form::value(query, "q").map(|q| q.to_lowercase());
    let kind = form::value(query, "type");
    let transactions: Vec<_> = bank
        .transactions
        .iter()
        .filter(|t| t.account_id == id)
        .filter(|t| {
            text.as_ref()
                .is_none_or(|q| t.description.to_lowercase().contains(q))
        })
        .filter(|t| match kind.as_deref() {
            Some("debit") => t.amount_cents < 0,
            Some("credit") => t.amount_cents > 0,
            _ => true,
        })
        .take(limit)
        .collect();
    reply::json(StatusCode::OK, &json!({ "transactions": transactions }))
}

/// Naive: full card numbers and CVVs, to anyone.
fn cards(bank: &Bank, id: &str) -> Response<Body> {
    if bank.account(id).is_none() {
        return no_such_account();
    }
    reply::json(StatusCode::OK, &json!({ "cards": bank.cards_of(id) }))
}

fn transfer(bank: &mut Bank, body: &[u8], subject: Option<&str>) -> Response<Body> {
    let result = TransferRequest::parse(body).and_then(|request| bank.transfer(request, subject));
    match result {
        Ok(record) => reply::json(StatusCode::CREATED, &record),
        Err(error) => reply::error(StatusCode::BAD_REQUEST, &error.message()),
    }
}

fn delete_user(bank: &mut Bank, id: &str) -> Response<Body> {
    let before = bank.users.len();
    bank.users.retain(|u| u.id != id);
    if bank.users.len() < before {
        reply::empty(StatusCode::NO_CONTENT)
    } else {
        reply::error(StatusCode::NOT_FOUND, "no such user")
    }
}

fn no_such_user() -> Response<Body> {
    reply::error(StatusCode::NOT_FOUND, "no such user")
}

fn no_such_account() -> Response<Body> {
    reply::error(StatusCode::NOT_FOUND, "no such account")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        assert_eq!(
            Route::parse("/v2/accounts/acc-1001"),
            Some(Route::Account("acc-1001"))
        );
        assert_eq!(
            Route::parse("/v2/accounts/acc-1001/transactions"),
            Some(Route::Transactions("acc-1001"))
        );
        assert_eq!(
            Route::parse("/v2/admin/users/u-bob"),
            Some(Route::User("u-bob"))
        );
        assert_eq!(Route::parse("/v2/nothing"), None);
        assert_eq!(Route::parse("/"), None);
    }

    #[test]
    fn limit_parses() {
        assert_eq!(limit(None), Ok(usize::MAX));
        assert_eq!(limit(Some("a=b&limit=2")), Ok(2));
        assert_eq!(limit(Some("limit=-1")), Err(()));
    }

    #[test]
    fn methods_per_path() {
        assert_eq!(
            Route::parse("/v2/me").map(Route::methods),
            Some(&[Method::GET, Method::PATCH][..])
        );
        assert_eq!(
            Route::parse("/v2/accounts/acc-1001/cards"),
            Some(Route::Cards("acc-1001"))
        );
        assert_eq!(
            Route::parse("/v2/support/messages").map(Route::methods),
            Some(&[Method::POST][..])
        );
        assert!(Route::parse("/v2/branches/br-paris").is_some_and(Route::is_public));
    }
}
