//! Opening accounts and listing cards, naively: a client-sent `owner` or
//! `balance_cents` is honoured (mass assignment), and cards come back with
//! their full number and CVV.

use serde_json::{Map, Value};

use crate::state::{Account, Bank, Card, now_rfc3339};

/// Parses a JSON body as an object; the error is the client's message.
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Value>, &'static str> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("expected a JSON object"),
        Err(_) => Err("invalid JSON"),
    }
}

/// A string field, absent or `null` as `None`.
pub(crate) fn string(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, &'static str> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("a field that must be a string is not"),
    }
}

impl Bank {
    /// Opens an account from a JSON body and returns it.
    ///
    /// Naive: the owner is the body's `owner` if any (else the caller), and
    /// the opening balance is the body's `balance_cents` if any (else 0).
    pub(crate) fn open_account(
        &mut self,
        body: &[u8],
        subject: Option<&str>,
    ) -> Result<Account, &'static str> {
        let fields = object(body)?;
        let owner = string(&fields, "owner")?
            .or_else(|| subject.map(str::to_owned))
            .ok_or("an account needs an owner")?;
        let balance_cents = match fields.get("balance_cents") {
            None => 0,
            Some(amount) => amount
                .as_i64()
                .ok_or("`balance_cents` must be an integer")?,
        };
        let labels = match fields.get("labels") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(labels)) => labels.clone(),
            Some(_) => return Err("`labels` must be an object"),
        };
        let n = self.next_id();
        let account = Account {
            id: format!("acc-{}", 3000 + n),
            owner,
            kind: string(&fields, "type")?.unwrap_or_else(|| "checking".to_owned()),
            iban: format!("DE00370400440599{n:06}"),
            balance_cents,
            currency: string(&fields, "currency")?.unwrap_or_else(|| "EUR".to_owned()),
            nickname: string(&fields, "nickname")?,
            labels,
            opened_at: today(),
        };
        self.accounts.push(account.clone());
        Ok(account)
    }

    /// The cards of an account, full numbers and CVVs included.
    pub(crate) fn cards_of(&self, account_id: &str) -> Vec<&Card> {
        self.cards
            .iter()
            .filter(|c| c.account_id == account_id)
            .collect()
    }
}

/// Today's date, `2025-01-10`.
fn today() -> String {
    let now = now_rfc3339();
    now.split('T').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_account_honours_whatever_the_client_sends() {
        let mut bank = Bank::seeded();
        let body =
            br#"{"type":"savings","currency":"EUR","owner":"u-bob","balance_cents":100000000}"#;
        let account = bank.open_account(body, Some("u-alice")).expect("opened");
        assert_eq!(
            (account.owner.as_str(), account.balance_cents),
            ("u-bob", 100_000_000)
        );
        assert_eq!(account.id, "acc-3001");
        assert_eq!(account.opened_at.len(), 10);
        let stored = bank.account("acc-3001").expect("stored");
        assert_eq!(stored.balance_cents, 100_000_000);
    }

    #[test]
    fn open_account_defaults_to_the_caller_and_zero() {
        let mut bank = Bank::seeded();
        let body = br#"{"type":"checking","currency":"EUR","labels":{"purpose":"rent"}}"#;
        let account = bank.open_account(body, Some("u-alice")).expect("opened");
        assert_eq!(
            (account.owner.as_str(), account.balance_cents),
            ("u-alice", 0)
        );
        assert_eq!(account.labels.get("purpose"), Some(&Value::from("rent")));
        assert_eq!(
            bank.open_account(b"{}", None),
            Err("an account needs an owner")
        );
        assert_eq!(
            bank.open_account(b"[]", None),
            Err("expected a JSON object")
        );
        let bad = bank.open_account(br#"{"balance_cents":"lots"}"#, Some("u-alice"));
        assert!(bad.is_err());
    }

    #[test]
    fn cards_are_listed_in_full() {
        let bank = Bank::seeded();
        let cards = bank.cards_of("acc-1001");
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].number, "4111111111111111");
        assert!(bank.cards_of("acc-1002").is_empty());
    }
}
