//! DirectoryService over the domain.

use hotline_api::ticket::v1 as pb;
use pb::directory_service_server::DirectoryService;
use tonic::{Request, Response, Status};

use super::convert::{org_to, user_to};
use super::{Handlers, status};

#[tonic::async_trait]
impl DirectoryService for Handlers {
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let actor = self.actor(&request).await?;
        let user = self.core.who_am_i(&actor).await.map_err(status)?;
        Ok(Response::new(user_to(user)))
    }

    async fn list_organisations(
        &self,
        request: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        self.actor(&request).await?;
        let orgs = self
            .core
            .list_organisations(request.into_inner().under_code)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListOrganisationsResponse {
            organisations: orgs.into_iter().map(org_to).collect(),
        }))
    }

    async fn get_organisation(
        &self,
        request: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::Organisation>, Status> {
        self.actor(&request).await?;
        let org = self
            .core
            .get_organisation(request.into_inner().code)
            .await
            .map_err(status)?;
        Ok(Response::new(org_to(org)))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let actor = self.actor(&request).await?;
        let users = self
            .core
            .list_users(&actor, request.into_inner().org_code)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(user_to).collect(),
        }))
    }
}
