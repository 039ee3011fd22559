//! The bank's in-memory state: customers, accounts and transactions, seeded with demo data.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

/// Everything the bank knows. One instance per server, behind a `Mutex`.
#[derive(Debug)]
pub(crate) struct Bank {
    pub(crate) users: Vec<User>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) transactions: Vec<Transaction>,
    /// Transfer records exactly as stored, unknown client fields included.
    pub(crate) transfers: Vec<Map<String, Value>>,
    pub(crate) cards: Vec<Card>,
    /// Messages to support, as sent (never escaped: an agent's console renders them).
    pub(crate) messages: Vec<Value>,
    next_transaction: u32,
    next_transfer: u32,
    /// The counter behind new account, user and message ids.
    next_id: u32,
}

/// A customer or staff member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<Value>,
    /// Not in the spec: the admin listing leaks it (excessive data exposure).
    pub(crate) password_hash: String,
    /// Naive: kept in clear for users created through the API, and returned
    /// (the spec marks it `writeOnly`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<String>,
    /// Naive, like `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pin: Option<String>,
}

/// A bank account, in the current (v2) shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) owner: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) iban: String,
    pub(crate) balance_cents: i64,
    pub(crate) currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nickname: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) labels: Map<String, Value>,
    pub(crate) opened_at: String,
}

/// A payment card of an account.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Card {
    pub(crate) id: String,
    pub(crate) account_id: String,
    pub(crate) brand: String,
    /// Naive: the full card number, returned as is.
    pub(crate) number: String,
    pub(crate) expires: String,
    pub(crate) status: String,
    /// Not in the spec, and never to be returned: the listing leaks it.
    pub(crate) cvv: String,
}

/// One booking on one account; negative amounts are debits.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Transaction {
    pub(crate) id: String,
    pub(crate) account_id: String,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) description: String,
    pub(crate) booked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transfer_id: Option<String>,
}

/// The old (v1) shape of an account: a decimal string balance and the owner's name inline.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountV1 {
    pub(crate) account_id: String,
    pub(crate) customer_id: String,
    pub(crate) customer_name: String,
    pub(crate) iban: String,
    pub(crate) balance: String,
    pub(crate) currency: String,
}

impl Bank {
    /// The demo data: alice, bob and an admin; three accounts; a few transactions.
    pub(crate) fn seeded() -> Self {
        let users = vec![
            user("u-alice", "Alice Martin", "alice@example.com", "customer"),
            user("u-bob", "Bob Schneider", "bob@example.com", "customer"),
            user("u-admin", "Ada Admin", "admin@example.com", "admin"),
        ];
        let accounts = vec![
            account(
                "acc-1001",
                "u-alice",
                "checking",
                "DE89370400440532013000",
                250_000,
            ),
            account(
                "acc-1002",
                "u-alice",
                "savings",
                "DE62370400440532013001",
                1_200_000,
            ),
            account(
                "acc-2001",
                "u-bob",
                "checking",
                "DE29100100100987654321",
                84_000,
            ),
        ];
        let seed = [
            ("acc-1001", -4_250, "Grocery store", "2025-01-10T09:12:00Z"),
            (
                "acc-1001",
                320_000,
                "Salary ACME GmbH",
                "2025-01-31T06:00:00Z",
            ),
            (
                "acc-1002",
                50_000,
                "Monthly savings plan",
                "2025-02-01T06:00:00Z",
            ),
            (
                "acc-2001",
                -1_899,
                "Streaming subscription",
                "2025-02-03T12:30:00Z",
            ),
            (
                "acc-2001",
                150_000,
                "Salary Example Ltd",
                "2025-02-28T06:00:00Z",
            ),
        ];
        // Well-known test card numbers (Luhn-valid, never issued to anyone).
        let cards = vec![
            card("card-1", "acc-1001", "visa", "4111111111111111", "123"),
            card("card-2", "acc-1001", "visa", "4012888888881881", "456"),
            card(
                "card-3",
                "acc-2001",
                "mastercard",
                "5555555555554444",
                "789",
            ),
        ];
        let mut bank = Bank {
            users,
            accounts,
            transactions: Vec::new(),
            transfers: Vec::new(),
            cards,
            messages: Vec::new(),
            next_transaction: 1,
            next_transfer: 1,
            next_id: 1,
        };
        for (account_id, amount_cents, description, booked_at) in seed {
            bank.book(
                account_id,
                amount_cents,
                description,
                booked_at.to_owned(),
                None,
            );
        }
        bank
    }

    /// The account with this id, whoever owns it.
    pub(crate) fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub(crate) fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id == id)
    }

    /// The user with this id.
    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn user_mut(&mut self, id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    /// A fresh number for a new account, user or message id.
    pub(crate) fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The v1 view of an account.
    pub(crate) fn account_v1(&self, id: &str) -> Option<AccountV1> {
        let account = self.account(id)?;
        let customer_name = self
            .user(&account.owner)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        Some(AccountV1 {
            account_id: account.id.clone(),
            customer_id: account.owner.clone(),
            customer_name,
            iban: account.iban.clone(),
            balance: decimal(account.balance_cents),
            currency: account.currency.clone(),
        })
    }

    /// Appends a transaction to an account's history.
    pub(crate) fn book(
        &mut self,
        account_id: &str,
        amount_cents: i64,
        description: &str,
        booked_at: String,
        transfer_id: Option<String>,
    ) {
        let id = format!("tx-{:04}", self.next_transaction);
        self.next_transaction += 1;
        let currency = self
            .account(account_id)
            .map(|a| a.currency.clone())
            .unwrap_or_else(|| "EUR".to_owned());
        self.transactions.push(Transaction {
            id,
            account_id: account_id.to_owned(),
            amount_cents,
            currency,
            description: description.to_owned(),
            booked_at,
            transfer_id,
        });
    }

    /// A fresh transfer id.
    pub(crate) fn next_transfer_id(&mut self) -> String {
        let id = format!("trf-{:04}", self.next_transfer);
        self.next_transfer += 1;
        id
    }
}

/// Formats cents as a decimal string: `250000` → `"2500.00"`.
pub(crate) fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The current time as RFC 3339 UTC, to the second (`2025-01-10T09:12:00Z`).
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (civil-from-days, H. Hinnant).
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3_600, rem % 3_600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

fn user(id: &str, name: &str, email: &str, role: &str) -> User {
    User {
        id: id.to_owned(),
        name: name.to_owned(),
        email: email.to_owned(),
        roles: vec![role.to_owned()],
        address: None,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ${id}-not-a-real-hash"),
        password: None,
        pin: None,
    }
}

fn account(id: &str, owner: &str, kind: &str, iban: &str, balance_cents: i64) -> Account {
    Account {
        id: id.to_owned(),
        owner: owner.to_owned(),
        kind: kind.to_owned(),
        iban: iban.to_owned(),
        balance_cents,
        currency: "EUR".to_owned(),
        nickname: None,
        labels: Map::new(),
        opened_at: "2019-04-01".to_owned(),
    }
}

fn card(id: &str, account_id: &str, brand: &str, number: &str, cvv: &str) -> Card {
    Card {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        brand: brand.to_owned(),
        number: number.to_owned(),
        expires: "09/29".to_owned(),
        status: "active".to_owned(),
        cvv: cvv.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats_cents() {
        assert_eq!(decimal(250_000), "2500.00");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-1_899), "-18.99");
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_736_500_320), "2025-01-10T09:12:00Z");
    }

    #[test]
    fn seed_has_the_demo_accounts() {
        let bank = Bank::seeded();
        let alice = bank.account("acc-1001").expect("seeded");
        assert_eq!(
            (alice.owner.as_str(), alice.balance_cents),
            ("u-alice", 250_000)
        );
        assert_eq!(
            bank.account_v1("acc-2001").expect("seeded").customer_name,
            "Bob Schneider"
        );
        assert_eq!(bank.transactions.len(), 5);
    }
}
