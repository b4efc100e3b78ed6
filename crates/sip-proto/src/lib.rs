//! Sans-io SIP.

pub mod error;
pub mod framer;
pub mod header;
pub mod message;
pub mod params;
pub mod parse;
mod text;
pub mod typed;
pub mod uri;
mod validate;

pub use error::ParseError;
pub use framer::{StreamFramer, StreamItem};
pub use header::{Header, HeaderName, Headers};
pub use message::{Message, Method, Request, Response, StatusCode};
pub use params::{Param, Params};
pub use parse::parse_message;
pub use text::percent_decode;
pub use typed::{BRANCH_MAGIC_COOKIE, CSeq, Contact, MediaType, NameAddr, Rport, Transport, Via};
pub use uri::{Host, Scheme, SipUri, Uri};
