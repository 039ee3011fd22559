//! Messages to customer support, from a classic web form: stored as sent, for
//! an agent's console that renders them unescaped (stored XSS waiting to happen).

use serde_json::{Value, json};

use crate::form;
use crate::state::Bank;

impl Bank {
    /// Stores a message from an `application/x-www-form-urlencoded` body
    /// (`subject`, `message`) and returns the stored record.
    pub(crate) fn receive_message(
        &mut self,
        body: &[u8],
        subject: Option<&str>,
    ) -> Result<Value, &'static str> {
        let text = std::str::from_utf8(body).map_err(|_| "the form is not UTF-8")?;
        let field = |name| form::value(Some(text), name).filter(|v| !v.is_empty());
        let title = field("subject").ok_or("`subject` is required")?;
        let message = field("message").ok_or("`message` is required")?;
        let record = json!({
            "id": format!("msg-{:04}", self.next_id()),
            "subject": title,
            "message": message,
            "from": subject,
            "status": "received",
        });
        self.messages.push(record.clone());
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_stored_as_sent() {
        let mut bank = Bank::seeded();
        let body = b"subject=Card+lost&message=%3Cb%3Ehelp%3C%2Fb%3E";
        let record = bank.receive_message(body, Some("u-alice")).expect("stored");
        assert_eq!(record["message"], "<b>help</b>");
        assert_eq!(record["from"], "u-alice");
        assert_eq!(bank.messages.len(), 1);
        assert!(bank.receive_message(b"subject=x", None).is_err());
        assert!(bank.receive_message(b"\xff", None).is_err());
    }
}
