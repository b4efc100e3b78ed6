//! Building and running ticket-core's gRPC server. `build` opens the database and binds
//! the socket; tests call it with port 0 and read the bound address back.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hotline_api::ticket::v1::alert_service_server::AlertServiceServer;
use hotline_api::ticket::v1::call_service_server::CallServiceServer;
use hotline_api::ticket::v1::directory_service_server::DirectoryServiceServer;
use hotline_api::ticket::v1::event_service_server::EventServiceServer;
use hotline_api::ticket::v1::metrics_service_server::MetricsServiceServer;
use hotline_api::ticket::v1::ticket_service_server::TicketServiceServer;
use hotline_api::ticket::v1::work_order_service_server::WorkOrderServiceServer;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::admin::{self, IssuedToken};
use crate::config::CoreConfig;
use crate::domain::actor::Authenticator;
use crate::domain::{Clock, CoreError, TicketCore, text};
use crate::grpc::Handlers;
use crate::store::{self, Db};

pub const DATABASE_FILE: &str = "hotline.sqlite3";

pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub core: CoreConfig,
}

pub struct CoreApp {
    listener: TcpListener,
    handlers: Handlers,
    /// Tokens of the sample users, when this start created the database.
    pub first_start_tokens: Option<Vec<IssuedToken>>,
}

/// Opens (creating and seeding on first use) the database under `data_dir`.
pub fn open_database(
    data_dir: &std::path::Path,
    clock: &dyn Clock,
) -> Result<(Db, Option<Vec<IssuedToken>>), CoreError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| CoreError::Storage(format!("cannot create {}: {e}", data_dir.display())))?;
    let path = data_dir.join(DATABASE_FILE);
    let seeded = {
        let mut conn = store::open_connection(&path, true)?;
        store::schema::migrate(&mut conn)?;
        admin::seed_if_empty(&mut conn, clock.now_ms())?
    };
    Ok((Db::open(&path)?, seeded))
}

impl CoreApp {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, CoreError> {
        let problems = settings.core.problems();
        if !problems.is_empty() {
            return Err(CoreError::invalid("config", problems.join("; ")));
        }
        let data_dir = settings.data_dir.clone();
        let open_clock = clock.clone();
        let (db, first_start_tokens) = tokio::task::spawn_blocking(move || {
            // The dictionary takes a moment to load; better here than on the first ticket.
            text::warm_up();
            open_database(&data_dir, open_clock.as_ref())
        })
        .await
        .map_err(|e| CoreError::Storage(format!("start-up task failed: {e}")))??;
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            CoreError::Storage(format!("cannot listen on {}: {e}", settings.listen))
        })?;
        let core = TicketCore::new(db.clone(), settings.core, clock);
        let handlers = Handlers {
            core,
            auth: Arc::new(Authenticator::new(db)),
        };
        Ok(Self {
            listener,
            handlers,
            first_start_tokens,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn core(&self) -> &TicketCore {
        &self.handlers.core
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets calls in flight finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hotline_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .expect("the embedded descriptors are valid");
        // grpcurl 1.8 speaks only the older v1alpha reflection protocol.
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hotline_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()
            .expect("the embedded descriptors are valid");
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<TicketServiceServer<Handlers>>()
            .await;
        health_reporter
            .set_serving::<WorkOrderServiceServer<Handlers>>()
            .await;
        health_reporter
            .set_serving::<CallServiceServer<Handlers>>()
            .await;
        health_reporter
            .set_serving::<EventServiceServer<Handlers>>()
            .await;
        health_reporter
            .set_serving::<DirectoryServiceServer<Handlers>>()
            .await;
        let h = self.handlers;
        tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(TicketServiceServer::new(h.clone()))
            .add_service(WorkOrderServiceServer::new(h.clone()))
            .add_service(CallServiceServer::new(h.clone()))
            .add_service(EventServiceServer::new(h.clone()))
            .add_service(AlertServiceServer::new(h.clone()))
            .add_service(MetricsServiceServer::new(h.clone()))
            .add_service(DirectoryServiceServer::new(h))
            // Replies are small: without TCP_NODELAY each would wait for the client's delayed
            // ACK (~40 ms). tonic sets it only on listeners it binds itself.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await
    }
}
