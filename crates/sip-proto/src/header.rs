//! Header names (case-insensitive, with compact forms) and the ordered header list.

use std::fmt;
use std::hash::{Hash, Hasher};

macro_rules! standard_headers {
    ($( $variant:ident => $canonical:literal, compact: $compact:expr, list: $list:literal; )*) => {
        /// A header name. Known names parse from any case and from their compact form
        /// and always print in their canonical long form; unknown names keep their
        /// spelling but still compare case-insensitively.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $($variant,)*
            Other(String),
        }

        impl HeaderName {
            /// Canonical spelling of the name (the long form).
            pub fn as_str(&self) -> &str {
                match self {
                    $(HeaderName::$variant => $canonical,)*
                    HeaderName::Other(name) => name,
                }
            }

            /// The one-letter compact form (RFC 3261 §7.3.3 and later RFCs), if any.
            pub fn compact_form(&self) -> Option<char> {
                match self {
                    $(HeaderName::$variant => $compact,)*
                    HeaderName::Other(_) => None,
                }
            }

            /// Whether the header's grammar is a comma-separated list, so that one header
            /// line may carry several values. Unknown headers are never split: their
            /// grammar is unknown, and a comma may be part of the value.
            pub fn is_list(&self) -> bool {
                match self {
                    $(HeaderName::$variant => $list,)*
                    HeaderName::Other(_) => false,
                }
            }

            /// Maps a name as written on the wire (any case, long or compact form).
            pub fn from_wire(name: &str) -> HeaderName {
                if let [letter] = name.as_bytes() {
                    let letter = letter.to_ascii_lowercase() as char;
                    $(if $compact == Some(letter) { return HeaderName::$variant; })*
                }
                $(if name.eq_ignore_ascii_case($canonical) { return HeaderName::$variant; })*
                HeaderName::Other(name.to_owned())
            }
        }
    };
}

standard_headers! {
    Accept => "Accept", compact: None, list: true;
    AcceptContact => "Accept-Contact", compact: Some('a'), list: true;
    AcceptEncoding => "Accept-Encoding", compact: None, list: true;
    AcceptLanguage => "Accept-Language", compact: None, list: true;
    AlertInfo => "Alert-Info", compact: None, list: true;
    Allow => "Allow", compact: None, list: true;
    AllowEvents => "Allow-Events", compact: Some('u'), list: true;
    AuthenticationInfo => "Authentication-Info", compact: None, list: false;
    Authorization => "Authorization", compact: None, list: false;
    CallId => "Call-ID", compact: Some('i'), list: false;
    CallInfo => "Call-Info", compact: None, list: true;
    Contact => "Contact", compact: Some('m'), list: true;
    ContentDisposition => "Content-Disposition", compact: None, list: false;
    ContentEncoding => "Content-Encoding", compact: Some('e'), list: true;
    ContentLanguage => "Content-Language", compact: None, list: true;
    ContentLength => "Content-Length", compact: Some('l'), list: false;
    ContentType => "Content-Type", compact: Some('c'), list: false;
    CSeq => "CSeq", compact: None, list: false;
    Date => "Date", compact: None, list: false;
    Diversion => "Diversion", compact: None, list: true;
    ErrorInfo => "Error-Info", compact: None, list: true;
    Event => "Event", compact: Some('o'), list: false;
    Expires => "Expires", compact: None, list: false;
    From => "From", compact: Some('f'), list: false;
    HistoryInfo => "History-Info", compact: None, list: true;
    Identity => "Identity", compact: Some('y'), list: false;
    IdentityInfo => "Identity-Info", compact: Some('n'), list: false;
    InReplyTo => "In-Reply-To", compact: None, list: true;
    MaxForwards => "Max-Forwards", compact: None, list: false;
    MimeVersion => "MIME-Version", compact: None, list: false;
    MinExpires => "Min-Expires", compact: None, list: false;
    MinSe => "Min-SE", compact: None, list: false;
    Organization => "Organization", compact: None, list: false;
    PAssertedIdentity => "P-Asserted-Identity", compact: None, list: true;
    PPreferredIdentity => "P-Preferred-Identity", compact: None, list: true;
    Path => "Path", compact: None, list: true;
    Priority => "Priority", compact: None, list: false;
    Privacy => "Privacy", compact: None, list: false;
    ProxyAuthenticate => "Proxy-Authenticate", compact: None, list: false;
    ProxyAuthorization => "Proxy-Authorization", compact: None, list: false;
    ProxyRequire => "Proxy-Require", compact: None, list: true;
    RAck => "RAck", compact: None, list: false;
    Reason => "Reason", compact: None, list: true;
    RecordRoute => "Record-Route", compact: None, list: true;
    ReferTo => "Refer-To", compact: Some('r'), list: false;
    ReferredBy => "Referred-By", compact: Some('b'), list: false;
    RejectContact => "Reject-Contact", compact: Some('j'), list: true;
    Replaces => "Replaces", compact: None, list: false;
    ReplyTo => "Reply-To", compact: None, list: false;
    RequestDisposition => "Request-Disposition", compact: Some('d'), list: true;
    Require => "Require", compact: None, list: true;
    RetryAfter => "Retry-After", compact: None, list: false;
    Route => "Route", compact: None, list: true;
    RSeq => "RSeq", compact: None, list: false;
    Server => "Server", compact: None, list: false;
    SessionExpires => "Session-Expires", compact: Some('x'), list: false;
    Subject => "Subject", compact: Some('s'), list: false;
    SubscriptionState => "Subscription-State", compact: None, list: false;
    Supported => "Supported", compact: Some('k'), list: true;
    Timestamp => "Timestamp", compact: None, list: false;
    To => "To", compact: Some('t'), list: false;
    Unsupported => "Unsupported", compact: None, list: true;
    UserAgent => "User-Agent", compact: None, list: false;
    Via => "Via", compact: Some('v'), list: true;
    Warning => "Warning", compact: None, list: true;
    WwwAuthenticate => "WWW-Authenticate", compact: None, list: false;
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str().eq_ignore_ascii_case(other.as_str())
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for byte in self.as_str().bytes() {
            state.write_u8(byte.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(name: &str) -> Self {
        HeaderName::from_wire(name)
    }
}

/// One header value. A list header that arrived as `Via: a, b` is stored as two
/// `Header`s, so every entry holds exactly one element of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: String,
}

/// Headers in the order they appeared. Order matters for Via, Route and Record-Route;
/// between different names it is kept only so that forwarding changes as little as possible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Appends a value after any existing ones.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a value before the existing ones of the same name (a proxy's new Via
    /// or a new Record-Route goes on top).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<String>) {
        let position = self
            .0
            .iter()
            .position(|header| header.name == name)
            .unwrap_or(0);
        self.0.insert(
            position,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// First value of that name.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.get_all(name).next()
    }

    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.clone();
        self.0
            .iter()
            .filter(move |header| header.name == name)
            .map(|header| header.value.as_str())
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// Replaces all values of that name with one value, kept where the first one was.
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|header| header.name == name) {
            Some(position) => {
                self.0[position].value = value;
                let mut index = 0;
                self.0.retain(|header| {
                    let keep = index <= position || header.name != name;
                    index += 1;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|header| &header.name != name);
    }

    /// Removes and returns the first value of that name.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<String> {
        let position = self.0.iter().position(|header| &header.name == name)?;
        Some(self.0.remove(position).value)
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive_names() {
        assert_eq!(HeaderName::from_wire("v"), HeaderName::Via);
        assert_eq!(HeaderName::from_wire("I"), HeaderName::CallId);
        assert_eq!(
            HeaderName::from_wire("mAx-FoRwArDs"),
            HeaderName::MaxForwards
        );
        assert_eq!(HeaderName::from_wire("call-id").as_str(), "Call-ID");
        assert_eq!(
            HeaderName::from_wire("X-Foo"),
            HeaderName::from_wire("x-foo")
        );
        assert_eq!(HeaderName::from_wire("X-Foo").as_str(), "X-Foo");
        assert_eq!(HeaderName::from_wire("q"), HeaderName::Other("q".into()));
    }

    #[test]
    fn set_replaces_all_values_in_place() {
        let mut headers = Headers::new();
        headers.push(HeaderName::Via, "a");
        headers.push(HeaderName::To, "t");
        headers.push(HeaderName::Via, "b");
        headers.set(HeaderName::Via, "c");
        let all: Vec<_> = headers.iter().map(|h| h.value.as_str()).collect();
        assert_eq!(all, vec!["c", "t"]);
        headers.push_front(HeaderName::Via, "top");
        assert_eq!(headers.get(&HeaderName::Via), Some("top"));
    }
}
