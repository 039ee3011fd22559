//! The deliberate leaks: a crash stack trace and an undocumented debug config dump.
//!
//! Every secret here is fake; it exists so the gateway has something to hide.

use serde_json::{Value, json};

/// The fake database URL that both leaks reveal.
pub(crate) const DB_URL: &str = "postgres://bank:S3cr3t@db.internal:5432/bank";

/// The text of an unhandled exception, as a careless framework would print it.
pub(crate) fn stack_trace(currency: &str) -> String {
    format!(
        "Traceback (most recent call last):
  File \"/srv/bank/app/api/rates.py\", line 42, in get_rate
    row = db.execute(\"SELECT rate FROM fx_rates WHERE code = '{currency}'\").one()
  File \"/srv/bank/venv/lib/python3.11/site-packages/sqlalchemy/engine/result.py\", line 1797, in one
    return self._only_one_row(raise_for_second_row=True, raise_for_none=True)
sqlalchemy.exc.NoResultFound: No row was found when one was required
  connection: {DB_URL}

Caused by: org.postgresql.util.PSQLException: ERROR: relation \"fx_rates_{currency}\" does not exist
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2713)
\tat com.examplebank.rates.RateRepository.find(RateRepository.java:88)
\tat com.examplebank.rates.RateController.get(/opt/bank/src/main/java/com/examplebank/rates/RateController.java:31)
"
    )
}

/// The body of `GET /debug/env`: internal config, a fake secret included.
pub(crate) fn debug_env() -> Value {
    json!({
        "service": "bank",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": "production",
        "db_url": DB_URL,
        "internal_api_token": "dbg-3f9c2e71-not-a-real-secret",
        "feature_flags": {
            "instant_transfers": true,
            "legacy_v1_api": true,
            "skip_fraud_checks": false
        },
        "upstreams": {
            "ledger": "http://ledger.internal:9000",
            "fx": "http://fx.internal:9100"
        }
    })
}
