//! Transfers between accounts: parsing the request and moving the money (naively).

use serde_json::{Map, Value};

use crate::state::{Bank, now_rfc3339};

/// Why a transfer was refused; every variant becomes a 400 with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransferError {
    /// The body is not the expected JSON object; the text says what is wrong.
    Malformed(&'static str),
    /// `from` or `to` names no account.
    NoSuchAccount(String),
    /// `from` and `to` are the same account.
    SameAccount,
    /// The two accounts hold different currencies.
    CurrencyMismatch,
    /// The source account's balance is lower than the amount.
    InsufficientFunds,
    /// A balance would overflow.
    OutOfRange,
}

impl TransferError {
    /// The message sent to the client as `{"error": …}`.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Malformed(what) => format!("malformed transfer: {what}"),
            Self::NoSuchAccount(id) => format!("no such account: {id}"),
            Self::SameAccount => "cannot transfer to the same account".to_owned(),
            Self::CurrencyMismatch => "accounts hold different currencies".to_owned(),
            Self::InsufficientFunds => "insufficient funds".to_owned(),
            Self::OutOfRange => "amount out of range".to_owned(),
        }
    }
}

/// A transfer request: the known fields, and whatever else the client sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TransferRequest {
    pub(crate) from: String,
    pub(crate) to: String,
    /// Naive: the sign is never checked, so a negative amount pulls money from `to`.
    pub(crate) amount_cents: i64,
    pub(crate) reference: Option<String>,
    /// Unknown fields, stored in the record as sent (mass assignment).
    pub(crate) extra: Map<String, Value>,
}

/// Fields of the record that the client cannot override even naively.
const SERVER_ONLY: [&str; 2] = ["id", "currency"];

impl TransferRequest {
    /// Parses a JSON body: `from`, `to` (strings), `amount_cents` (integer), optional `reference`.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, TransferError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|_| TransferError::Malformed("invalid JSON"))?;
        let Value::Object(mut fields) = value else {
            return Err(TransferError::Malformed("expected a JSON object"));
        };
        let from = take_string(&mut fields, "from")?
            .ok_or(TransferError::Malformed("`from` is required"))?;
        let to =
            take_string(&mut fields, "to")?.ok_or(TransferError::Malformed("`to` is required"))?;
        let amount_cents = match fields.remove("amount_cents") {
            Some(amount) => amount.as_i64().ok_or(TransferError::Malformed(
                "`amount_cents` must be an integer",
            ))?,
            None => return Err(TransferError::Malformed("`amount_cents` is required")),
        };
        let reference = take_string(&mut fields, "reference")?;
        Ok(Self {
            from,
            to,
            amount_cents,
            reference,
            extra: fields,
        })
    }
}

impl Bank {
    /// Moves the money, books both sides and returns the stored transfer record.
    ///
    /// No ownership check: `subject` is only recorded as `initiated_by`.
    pub(crate) fn transfer(
        &mut self,
        request: TransferRequest,
        subject: Option<&str>,
    ) -> Result<Map<String, Value>, TransferError> {
        let TransferRequest {
            from,
            to,
            amount_cents,
            reference,
            extra,
        } = request;
        if from == to {
            return Err(TransferError::SameAccount);
        }
        let source = self
            .account(&from)
            .ok_or_else(|| TransferError::NoSuchAccount(from.clone()))?;
        let target = self
            .account(&to)
            .ok_or_else(|| TransferError::NoSuchAccount(to.clone()))?;
        if source.currency != target.currency {
            return Err(TransferError::CurrencyMismatch);
        }
        if source.balance_cents < amount_cents {
            return Err(TransferError::InsufficientFunds);
        }
        let new_source = source
            .balance_cents
            .checked_sub(amount_cents)
            .ok_or(TransferError::OutOfRange)?;
        let new_target = target
            .balance_cents
            .checked_add(amount_cents)
            .ok_or(TransferError::OutOfRange)?;
        let currency = source.currency.clone();

        let id = self.next_transfer_id();
        let now = now_rfc3339();
        for (account_id, balance) in [(&from, new_source), (&to, new_target)] {
            if let Some(account) = self.account_mut(account_id) {
                account.balance_cents = balance;
            }
        }
        let description = reference
            .clone()
            .unwrap_or_else(|| format!("Transfer {id}"));
        let booked = [(&from, -amount_cents), (&to, amount_cents)];
        for (account_id, amount) in booked {
            self.book(
                account_id,
                amount,
                &description,
                now.clone(),
                Some(id.clone()),
            );
        }

        let mut record = Map::new();
        record.insert("id".into(), id.into());
        record.insert("from".into(), from.into());
        record.insert("to".into(), to.into());
        record.insert("amount_cents".into(), amount_cents.into());
        record.insert("currency".into(), currency.into());
        record.insert("reference".into(), reference.into());
        record.insert("status".into(), "completed".into());
        record.insert("created_at".into(), now.into());
        record.insert("initiated_by".into(), subject.map(str::to_owned).into());
        for (key, value) in extra {
            if !SERVER_ONLY.contains(&key.as_str()) {
                record.insert(key, value);
            }
        }
        self.transfers.push(record.clone());
        Ok(record)
    }
}

/// Removes `key` and returns it as a string; absent or `null` is `None`.
fn take_string(
    fields: &mut Map<String, Value>,
    key: &'static str,
) -> Result<Option<String>, TransferError> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TransferError::Malformed(
            "`from`, `to` and `reference` must be strings",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> Result<TransferRequest, TransferError> {
        TransferRequest::parse(body.as_bytes())
    }

    #[test]
    fn parse_keeps_unknown_fields() {
        let req = request(r#"{"from":"a","to":"b","amount_cents":5,"approved_by":"u-admin"}"#)
            .expect("valid");
        assert_eq!(req.amount_cents, 5);
        assert_eq!(req.extra.get("approved_by"), Some(&Value::from("u-admin")));
    }

    #[test]
    fn parse_rejects_malformed_bodies() {
        assert!(matches!(request("nope"), Err(TransferError::Malformed(_))));
        assert!(matches!(request("[1]"), Err(TransferError::Malformed(_))));
        let float = request(r#"{"from":"a","to":"b","amount_cents":1.5}"#);
        assert!(matches!(float, Err(TransferError::Malformed(_))));
        let missing = request(r#"{"from":"a","amount_cents":1}"#);
        assert!(matches!(missing, Err(TransferError::Malformed(_))));
    }

    #[test]
    fn transfer_refuses_what_it_must() {
        let mut bank = Bank::seeded();
        let mut go = |body: &str| bank.transfer(request(body).expect("valid"), None);
        let too_much = go(r#"{"from":"acc-2001","to":"acc-1001","amount_cents":84001}"#);
        assert_eq!(too_much, Err(TransferError::InsufficientFunds));
        let same = go(r#"{"from":"acc-1001","to":"acc-1001","amount_cents":1}"#);
        assert_eq!(same, Err(TransferError::SameAccount));
        let ghost = go(r#"{"from":"acc-1001","to":"acc-9999","amount_cents":1}"#);
        assert_eq!(ghost, Err(TransferError::NoSuchAccount("acc-9999".into())));
    }

    #[test]
    fn negative_amounts_are_trusted() {
        let mut bank = Bank::seeded();
        let req = request(r#"{"from":"acc-2001","to":"acc-1001","amount_cents":-1000}"#);
        bank.transfer(req.expect("valid"), Some("u-bob"))
            .expect("naively accepted");
        let alice = bank.account("acc-1001").expect("seeded");
        assert_eq!(alice.balance_cents, 249_000);
    }
}
