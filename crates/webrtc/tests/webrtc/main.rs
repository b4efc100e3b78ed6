//! Two real transports (the gateway's lite one and a controlling client) exchanging
//! datagrams in memory on a virtual clock.

mod pair;
mod restart;
mod sdp;
mod stun;
mod transport;
mod unhappy;
