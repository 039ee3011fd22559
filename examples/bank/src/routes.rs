//! Routing and handlers: one function per endpoint, none of them checks who is asking.

use std::sync::{Mutex, MutexGuard, PoisonError};

use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::App;
use crate::identity::Caller;
use crate::leaks;
use crate::reply::{self, Body};
use crate::state::Bank;
use crate::transfer::TransferRequest;

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
    Rate(&'a str),
    Accounts,
    Account(&'a str),
    Transactions(&'a str),
    Transfers,
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
            ["v2", "rates", code] => Self::Rate(code),
            ["v2", "accounts"] => Self::Accounts,
            ["v2", "accounts", id] => Self::Account(id),
            ["v2", "accounts", id, "transactions"] => Self::Transactions(id),
            ["v2", "transfers"] => Self::Transfers,
            ["v2", "admin", "users"] => Self::Users,
            ["v2", "admin", "users", id] => Self::User(id),
            ["v1", "accounts", id] => Self::AccountV1(id),
            _ => return None,
        };
        Some(route)
    }

    /// Whether anyone may call it, even when identity tokens are required.
    fn is_public(self) -> bool {
        matches!(self, Self::Health | Self::Branches | Self::Rate(_))
    }

    /// The one method each path accepts.
    fn method(self) -> Method {
        match self {
            Self::Transfers => Method::POST,
            Self::User(_) => Method::DELETE,
            Self::Health
            | Self::DebugEnv
            | Self::Branches
            | Self::Rate(_)
            | Self::Accounts
            | Self::Account(_)
            | Self::Transactions(_)
            | Self::Users
            | Self::AccountV1(_) => Method::GET,
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
    let bank = &app.bank;
    let Some(route) = route else {
        return reply::error(StatusCode::NOT_FOUND, "not found");
    };
    if parts.method != route.method() {
        let mut response = reply::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        if let Ok(allow) = HeaderValue::from_str(route.method().as_str()) {
            response.headers_mut().insert(ALLOW, allow);
        }
        return response;
    }
    let subject = caller.subject;
    match route {
        Route::Health => reply::text(StatusCode::OK, "ok".to_owned()),
        Route::DebugEnv => reply::json(StatusCode::OK, &leaks::debug_env()),
        Route::Branches => branches(),
        Route::Rate(code) => rate(code),
        Route::Accounts => accounts(&lock(bank), subject.as_deref(), parts.uri.query()),
        Route::Account(id) => account(&lock(bank), id),
        Route::Transactions(id) => transactions(&lock(bank), id),
        Route::Transfers => {
            // Read the body before taking the lock: no lock is held across an await.
            let bytes = match Limited::new(body, MAX_BODY).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return reply::error(StatusCode::BAD_REQUEST, "unreadable body"),
            };
            transfer(&mut lock(bank), &bytes, subject.as_deref())
        }
        Route::Users => reply::json(StatusCode::OK, &json!({ "users": lock(bank).users })),
        Route::User(id) => delete_user(&mut lock(bank), id),
        Route::AccountV1(id) => match lock(bank).account_v1(id) {
            Some(v1) => reply::json(StatusCode::OK, &v1),
            None => no_such_account(),
        },
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
    let owner = query_param(query, "owner").or(subject);
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
    match query_param(query, "limit") {
        None => Ok(usize::MAX),
        Some(v) => v.parse().map_err(|_| ()),
    }
}

/// The first value of query parameter `name`, as sent (ids need no decoding).
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn account(bank: &Bank, id: &str) -> Response<Body> {
    match bank.account(id) {
        Some(account) => reply::json(StatusCode::OK, account),
        None => no_such_account(),
    }
}

fn transactions(bank: &Bank, id: &str) -> Response<Body> {
    if bank.account(id).is_none() {
        return no_such_account();
    }
    let transactions: Vec<_> = bank
        .transactions
        .iter()
        .filter(|t| t.account_id == id)
        .collect();
    reply::json(StatusCode::OK, &json!({ "transactions": transactions }))
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
    fn query_params_are_found_by_whole_name() {
        assert_eq!(
            query_param(Some("owner=u-bob&limit=1"), "owner"),
            Some("u-bob")
        );
        assert_eq!(query_param(Some("owners=x"), "owner"), None);
        assert_eq!(query_param(None, "owner"), None);
    }
}
