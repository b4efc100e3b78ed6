//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE, used to
//! build and check the requests inside a call (BYE, re-INVITE, REFER, INFO, ACK for 2xx).

use thiserror::Error;

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::{Method, Request, Response, StatusCode};
use crate::typed::{CSeq, NameAddr, Via};
use crate::uri::{Scheme, Uri};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialogError {
    #[error("{0} header has no tag")]
    MissingTag(&'static str),
    #[error("a {0} response does not create a dialog")]
    NotDialogCreating(StatusCode),
    #[error("dialog-creating message has no usable Contact")]
    MissingContact,
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("CSeq {received} is lower than the last one ({last}): out of order, answer 500")]
    OutOfOrder { received: u32, last: u32 },
    #[error("request does not belong to this dialog")]
    NotInDialog,
}

/// Call-ID plus the two tags, seen from our side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a received request belongs to: our tag is in To, theirs in From.
    /// `None` for requests outside a dialog (no To tag).
    pub fn for_received_request(request: &Request) -> Result<Option<DialogId>, ParseError> {
        let headers = &request.headers;
        let (to, from) = (headers.to()?, headers.from()?);
        Ok(match (to.tag(), from.tag()) {
            (Some(local), Some(remote)) => Some(DialogId {
                call_id: headers.call_id()?.to_owned(),
                local_tag: local.to_owned(),
                remote_tag: remote.to_owned(),
            }),
            _ => None,
        })
    }

    /// The dialog a received response belongs to: our tag is in From, theirs in To.
    pub fn for_received_response(response: &Response) -> Result<Option<DialogId>, ParseError> {
        let headers = &response.headers;
        let (from, to) = (headers.from()?, headers.to()?);
        Ok(match (from.tag(), to.tag()) {
            (Some(local), Some(remote)) => Some(DialogId {
                call_id: headers.call_id()?.to_owned(),
                local_tag: local.to_owned(),
                remote_tag: remote.to_owned(),
            }),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub state: DialogState,
    /// Our From (as UAC) or To (as UAS), with our tag.
    pub local: NameAddr,
    /// The peer's address with its tag.
    pub remote: NameAddr,
    /// CSeq of the last request we sent; `None` until we send one as UAS.
    pub local_seq: Option<u32>,
    /// CSeq of the last request we received; `None` until the peer sends one as UAC.
    pub remote_seq: Option<u32>,
    /// Where requests go: the peer's Contact.
    pub remote_target: Uri,
    /// Record-Route, in the order our requests traverse it.
    pub route_set: Vec<NameAddr>,
    /// Our own Contact value, sent in target-refresh requests.
    pub local_contact: Option<String>,
    /// The dialog was set up over `sips:`.
    pub secure: bool,
}

fn contact_target(headers: &Headers) -> Result<Option<Uri>, ParseError> {
    Ok(headers
        .contacts()?
        .into_iter()
        .find_map(|contact| contact.address().map(|address| address.uri.clone())))
}

fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

impl Dialog {
    /// The dialog a UAC gets from a response with a To tag to its INVITE (or other
    /// dialog-creating request): route set from Record-Route reversed (§12.1.2).
    pub fn from_uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status;
        if status.as_u16() <= 100 || status.as_u16() >= 300 {
            return Err(DialogError::NotDialogCreating(status));
        }
        let local = request.headers.from()?;
        let remote = response.headers.to()?;
        let local_tag = local
            .tag()
            .ok_or(DialogError::MissingTag("From"))?
            .to_owned();
        let remote_tag = remote
            .tag()
            .ok_or(DialogError::MissingTag("To"))?
            .to_owned();
        let mut route_set = response.headers.record_routes()?;
        route_set.reverse();
        let remote_target = match contact_target(&response.headers)? {
            Some(target) => target,
            // A provisional response may lack a Contact; the 2xx must carry one.
            None if status.is_provisional() => request.uri.clone(),
            None => return Err(DialogError::MissingContact),
        };
        Ok(Dialog {
            id: DialogId {
                call_id: request.headers.call_id()?.to_owned(),
                local_tag,
                remote_tag,
            },
            state: if status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local,
            remote,
            local_seq: Some(request.headers.cseq()?.seq),
            remote_seq: None,
            remote_target,
            route_set,
            local_contact: request.headers.get(&HeaderName::Contact).map(str::to_owned),
            secure: is_sips(&request.uri),
        })
    }

    /// The dialog a UAS gets when it sends `response` (with its To tag) to `request`:
    /// route set from Record-Route in order (§12.1.1).
    pub fn from_uas(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status;
        if status.as_u16() <= 100 || status.as_u16() >= 300 {
            return Err(DialogError::NotDialogCreating(status));
        }
        let remote = request.headers.from()?;
        let local = response.headers.to()?;
        let remote_tag = remote
            .tag()
            .ok_or(DialogError::MissingTag("From"))?
            .to_owned();
        let local_tag = local.tag().ok_or(DialogError::MissingTag("To"))?.to_owned();
        Ok(Dialog {
            id: DialogId {
                call_id: request.headers.call_id()?.to_owned(),
                local_tag,
                remote_tag,
            },
            state: if status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local,
            remote,
            local_seq: None,
            remote_seq: Some(request.headers.cseq()?.seq),
            remote_target: contact_target(&request.headers)?.ok_or(DialogError::MissingContact)?,
            route_set: request.headers.record_routes()?,
            local_contact: response
                .headers
                .get(&HeaderName::Contact)
                .map(str::to_owned),
            secure: is_sips(&request.uri),
        })
    }

    /// Updates the dialog from a response to a request we sent in it (or to the
    /// dialog-creating INVITE): a 2xx confirms an early dialog, and a 2xx to a
    /// target-refresh request updates the remote target.
    pub fn handle_response(
        &mut self,
        request_method: &Method,
        response: &Response,
    ) -> Result<(), DialogError> {
        if !response.status.is_success() {
            return Ok(());
        }
        if self.state == DialogState::Early && *request_method == Method::Invite {
            // The route set of an early dialog is taken again from the 2xx (§13.2.2.4).
            self.state = DialogState::Confirmed;
            let mut route_set = response.headers.record_routes()?;
            route_set.reverse();
            self.route_set = route_set;
        }
        if is_target_refresh(request_method)
            && let Some(target) = contact_target(&response.headers)?
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// Marks the dialog confirmed when we, as UAS, send a 2xx.
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// Checks and records a request received in this dialog (§12.2.2): it must carry
    /// our tags and a CSeq not lower than the last one. ACK and CANCEL reuse the
    /// INVITE's CSeq and are not counted.
    pub fn handle_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if DialogId::for_received_request(request)?.as_ref() != Some(&self.id) {
            return Err(DialogError::NotInDialog);
        }
        let cseq = request.headers.cseq()?.seq;
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(last) = self.remote_seq
            && cseq < last
        {
            return Err(DialogError::OutOfOrder {
                received: cseq,
                last,
            });
        }
        self.remote_seq = Some(cseq);
        if is_target_refresh(&request.method)
            && let Some(target) = contact_target(&request.headers)?
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// Builds a request inside the dialog (§12.2.1.1) with the next local CSeq. `via`
    /// carries our sent-by and a fresh branch. Target-refresh requests get our Contact.
    /// Use [`Dialog::create_ack`] for the ACK of a 2xx and
    /// [`crate::transaction::build_cancel`] for CANCEL.
    pub fn create_request(&mut self, method: Method, via: &Via) -> Request {
        let seq = self
            .local_seq
            .map_or(1, |seq| seq.wrapping_add(1) & 0x7fff_ffff);
        self.local_seq = Some(seq);
        self.build(method, seq, via)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (§13.2.2.4). It is a new
    /// transaction of its own (give it a fresh branch) and is not retransmitted by any
    /// transaction: the TU resends it for each retransmitted 2xx.
    pub fn create_ack(&self, invite_seq: u32, via: &Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    fn build(&self, method: Method, seq: u32, via: &Via) -> Request {
        let (request_uri, routes) = self.routing();
        let target_refresh = is_target_refresh(&method);
        let mut request = Request::new(method.clone(), request_uri);
        let headers = &mut request.headers;
        headers.push(HeaderName::Via, via.to_string());
        headers.push(HeaderName::MaxForwards, "70");
        headers.push(HeaderName::From, self.local.to_string());
        headers.push(HeaderName::To, self.remote.to_string());
        headers.push(HeaderName::CallId, self.id.call_id.clone());
        headers.push(HeaderName::CSeq, CSeq { seq, method }.to_string());
        for route in routes {
            headers.push(HeaderName::Route, route);
        }
        if target_refresh && let Some(contact) = &self.local_contact {
            headers.push(HeaderName::Contact, contact.clone());
        }
        request
    }

    /// Request-URI and Route values: loose routing puts the remote target in the
    /// Request-URI; a strict router first in the route set gets the Request-URI and the
    /// remote target goes last in Route (§12.2.1.1).
    fn routing(&self) -> (Uri, Vec<String>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = first.uri.as_sip().is_some_and(|sip| sip.is_loose_route());
        if loose {
            let routes = self.route_set.iter().map(ToString::to_string).collect();
            return (self.remote_target.clone(), routes);
        }
        let mut request_uri = first.uri.clone();
        if let Uri::Sip(sip) = &mut request_uri {
            // Parameters not allowed in a Request-URI (§19.1.1 table).
            sip.params.remove("method");
            sip.params.remove("ttl");
            sip.headers.clear();
        }
        let mut routes: Vec<String> = self.route_set[1..]
            .iter()
            .map(ToString::to_string)
            .collect();
        routes.push(NameAddr::new(self.remote_target.clone()).to_string());
        (request_uri, routes)
    }
}

fn is_sips(uri: &Uri) -> bool {
    uri.as_sip().is_some_and(|sip| sip.scheme == Scheme::Sips)
}

#[cfg(test)]
mod tests;
