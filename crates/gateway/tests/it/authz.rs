//! Authorization through the real gateway: Cedar policies and shortcuts,
//! monitor mode, audit and metrics, response ownership, and the example bank's
//! BOLA/BFLA defences.

pub(crate) mod bank;
mod policies;
mod responses;
