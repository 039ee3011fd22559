//! Creating users and changing one's profile, naively: credentials are kept in
//! clear and echoed back, and a profile update sets whatever it is given,
//! `roles` included (mass assignment).

use serde_json::{Map, Value};

use crate::accounts::{object, string};
use crate::state::{Bank, User};

/// Why a profile could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProfileError {
    /// The caller names no user (a 404).
    NoSuchUser,
    /// The body is not what it should be (a 400 with this message).
    Malformed(&'static str),
}

impl Bank {
    /// Creates a user from a JSON body and returns it as stored: password and
    /// PIN included, in clear.
    pub(crate) fn create_user(&mut self, body: &[u8]) -> Result<User, &'static str> {
        let fields = object(body)?;
        let name = string(&fields, "name")?.ok_or("`name` is required")?;
        let email = string(&fields, "email")?.ok_or("`email` is required")?;
        let password = string(&fields, "password")?.ok_or("`password` is required")?;
        let roles = match fields.get("roles") {
            None | Some(Value::Null) => vec!["customer".to_owned()],
            Some(roles) => strings(roles).ok_or("`roles` must be a list of strings")?,
        };
        let id = format!("u-user-{}", self.next_id());
        let user = User {
            password_hash: format!(
                "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ${id}-not-a-real-hash"
            ),
            id,
            name,
            email,
            roles,
            address: None,
            password: Some(password),
            pin: string(&fields, "pin")?,
        };
        self.users.push(user.clone());
        Ok(user)
    }

    /// Applies a JSON body to the caller's profile and returns the profile.
    ///
    /// Naive: `roles` is honoured like `name`, `email` and `address`, so a
    /// customer can make themself an admin; other fields are ignored.
    pub(crate) fn update_profile(
        &mut self,
        subject: Option<&str>,
        body: &[u8],
    ) -> Result<User, ProfileError> {
        let fields = object(body).map_err(ProfileError::Malformed)?;
        let changes = Changes::parse(&fields).map_err(ProfileError::Malformed)?;
        let user = subject
            .and_then(|id| self.user_mut(id))
            .ok_or(ProfileError::NoSuchUser)?;
        if let Some(name) = changes.name {
            user.name = name;
        }
        if let Some(email) = changes.email {
            user.email = email;
        }
        if let Some(address) = changes.address {
            user.address = Some(address);
        }
        if let Some(roles) = changes.roles {
            user.roles = roles;
        }
        Ok(user.clone())
    }
}

/// What a profile update asks to change.
struct Changes {
    name: Option<String>,
    email: Option<String>,
    address: Option<Value>,
    roles: Option<Vec<String>>,
}

impl Changes {
    fn parse(fields: &Map<String, Value>) -> Result<Self, &'static str> {
        let roles = match fields.get("roles") {
            None | Some(Value::Null) => None,
            Some(roles) => Some(strings(roles).ok_or("`roles` must be a list of strings")?),
        };
        Ok(Changes {
            name: string(fields, "name")?,
            email: string(fields, "email")?,
            address: fields.get("address").filter(|a| !a.is_null()).cloned(),
            roles,
        })
    }
}

/// A JSON array of strings.
fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_users_keep_their_credentials_in_clear() {
        let mut bank = Bank::seeded();
        let body = br#"{"name":"Carol","email":"carol@example.com","password":"correct horse battery","pin":"4321"}"#;
        let user = bank.create_user(body).expect("created");
        assert_eq!(user.id, "u-user-1");
        assert_eq!(user.roles, ["customer"]);
        assert_eq!(user.password.as_deref(), Some("correct horse battery"));
        assert_eq!(user.pin.as_deref(), Some("4321"));
        assert!(bank.user("u-user-1").is_some());
        assert_eq!(
            bank.create_user(br#"{"name":"x","email":"y"}"#),
            Err("`password` is required")
        );
    }

    #[test]
    fn a_profile_update_sets_roles_too() {
        let mut bank = Bank::seeded();
        let body = br#"{"name":"Alice M.","roles":["admin"],"address":{"line1":"1 Main St","city":"Berlin","country":"DE"}}"#;
        let user = bank.update_profile(Some("u-alice"), body).expect("updated");
        assert_eq!(
            (user.name.as_str(), user.roles.as_slice()),
            ("Alice M.", &["admin".to_owned()][..])
        );
        assert_eq!(
            user.address.as_ref().map(|a| &a["city"]),
            Some(&Value::from("Berlin"))
        );
        assert_eq!(
            bank.user("u-alice").map(|u| u.roles.clone()),
            Some(vec!["admin".to_owned()])
        );
        assert_eq!(
            bank.update_profile(Some("u-nobody"), b"{}"),
            Err(ProfileError::NoSuchUser)
        );
        assert_eq!(
            bank.update_profile(None, b"{}"),
            Err(ProfileError::NoSuchUser)
        );
        assert!(matches!(
            bank.update_profile(Some("u-alice"), br#"{"roles":"admin"}"#),
            Err(ProfileError::Malformed(_))
        ));
    }
}
