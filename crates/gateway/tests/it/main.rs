//! Integration tests: the real gateway on 127.0.0.1:0 in front of real HTTP upstreams.

// A panic is how a test fails; helpers unwrap for the same reason.
#![allow(clippy::unwrap_used, missing_docs)]

mod redis_server;
mod scripted;
mod support;

mod admin;
mod auth;
mod authz;
mod config;
mod contract;
mod limits;
mod proxy;
mod reload;
mod tls;
mod traffic;
mod upstreams;
