//! Integration tests: the real gateway on 127.0.0.1:0 in front of real HTTP upstreams.

mod support;

mod proxy;
