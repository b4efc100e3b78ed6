//! gRPC adapters: unwrap the request, authenticate, call the domain, convert the
//! result. The one mapping from domain errors to gRPC status codes lives here.

pub mod alerts;
pub mod calls;
pub mod convert;
pub mod directory;
pub mod events;
pub mod metrics;
pub mod tickets;
pub mod work_orders;

use std::sync::Arc;

use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::actor::Authenticator;
use crate::domain::{Actor, CoreError, TicketCore};

/// What every service adapter holds: the domain and the authenticator.
#[derive(Clone)]
pub struct Handlers {
    pub core: TicketCore,
    pub auth: Arc<Authenticator>,
}

impl Handlers {
    pub async fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.auth.authenticate(header).await.map_err(status)
    }
}

/// The one mapping from a domain error to a gRPC status. Invalid fields travel as
/// `google.rpc.BadRequest` field violations, so a client can point at the field.
pub fn status(error: CoreError) -> Status {
    match error {
        CoreError::Invalid { violations } => {
            let message = CoreError::Invalid {
                violations: violations.clone(),
            }
            .to_string();
            let mut details = ErrorDetails::new();
            for v in &violations {
                details.add_bad_request_violation(v.field.clone(), v.rule.clone());
            }
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        CoreError::NotFound(m) => Status::not_found(m),
        CoreError::Unauthenticated(m) => Status::unauthenticated(m),
        CoreError::PermissionDenied(m) => Status::permission_denied(m),
        CoreError::FailedPrecondition(m) => Status::failed_precondition(m),
        CoreError::Conflict(m) => Status::aborted(m),
        CoreError::Storage(m) => {
            tracing::error!("storage error: {}", hotline_workflow::mask::free_text(&m));
            Status::unavailable("storage is unavailable; retry")
        }
    }
}

/// A positive id, or an InvalidArgument naming the field.
pub fn required_id(field: &str, id: i64) -> Result<i64, Status> {
    if id > 0 {
        Ok(id)
    } else {
        Err(status(CoreError::invalid(
            field,
            "is required (a positive id)",
        )))
    }
}

pub fn optional_ms(value: i64) -> Option<i64> {
    (value != 0).then_some(value)
}
