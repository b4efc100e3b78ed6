//! Assembling the gateway: transports, the signalling core, media, the event outbox,
//! the agents' gRPC API and the browser softphone page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};

use crate::agent_feed::CallerHistory;
use crate::call_events::{CallEventOutbox, CallEventSender};
use crate::config::{ConfigError, GatewayConfig};
use crate::core::{Core, CoreParts, CoreStats, Input};
use crate::grpc::AgentApi;
use crate::prompts::PromptLibrary;
use crate::registrar::{Credential, CredentialStore};
use crate::transport::{self, Inbound};
use crate::web::WebApp;

#[derive(Debug, Error)]
pub enum GatewayError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("prompts: {0}")]
    Prompts(String),
    #[error("WebRTC certificate: {0}")]
    WebRtc(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("{0}")]
    Store(String),
    #[error("wss: {0}")]
    Tls(String),
    #[error("ticket_core_url: {0}")]
    TicketCoreUrl(String),
}

/// What the gateway needs besides its config file section.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub config: GatewayConfig,
    /// Holds gateway.sqlite3 (SIP credentials), call_events.sqlite3, prompts/, recordings/.
    pub data_dir: PathBuf,
    pub grpc_listen: SocketAddr,
    pub ticket_core_url: String,
    /// The gateway's own ticket-core token (user `gateway`, role service).
    pub service_token: String,
}

pub struct GatewayApp {
    pub sip_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub ws_addr: Option<SocketAddr>,
    pub wss_addr: Option<SocketAddr>,
    pub outbox: Arc<CallEventOutbox>,
    pub credentials: Arc<CredentialStore>,
    pub stats: Arc<parking_lot::Mutex<CoreStats>>,
    pub inputs: mpsc::Sender<Input>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    grpc_listener: tokio::net::TcpListener,
    api: AgentApi,
    sender: Option<CallEventSender>,
    pub credential_cache: CredentialCache,
}

/// SIP credentials in memory, so the signalling core never waits for SQLite. Reloaded
/// every few seconds (an operator's `hotline admin set-sip-password` in another
/// process shows up without a restart) and on demand.
#[derive(Clone)]
pub struct CredentialCache {
    store: Arc<CredentialStore>,
    users: Arc<parking_lot::RwLock<std::collections::HashMap<String, Credential>>>,
}

/// How often the credential cache rereads the store.
const CREDENTIAL_RELOAD: std::time::Duration = std::time::Duration::from_secs(5);

impl CredentialCache {
    async fn load(store: Arc<CredentialStore>) -> Result<CredentialCache, GatewayError> {
        let cache = CredentialCache {
            store,
            users: Arc::default(),
        };
        cache.reload().await?;
        Ok(cache)
    }

    pub fn get(&self, user: &str) -> Option<Credential> {
        self.users.read().get(user).cloned()
    }

    /// Rereads every credential from the store (on the blocking pool).
    pub async fn reload(&self) -> Result<(), GatewayError> {
        let store = self.store.clone();
        let list = tokio::task::spawn_blocking(move || store.list())
            .await
            .map_err(|e| GatewayError::Store(e.to_string()))?
            .map_err(|e| GatewayError::Store(e.to_string()))?;
        *self.users.write() = list.into_iter().map(|c| (c.username.clone(), c)).collect();
        Ok(())
    }
}

impl GatewayApp {
    pub async fn start(mut settings: GatewaySettings) -> Result<GatewayApp, GatewayError> {
        settings.config.validate()?;
        let data_dir = settings.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|error| GatewayError::Io {
            what: format!("data directory {}", data_dir.display()),
            error,
        })?;
        if settings.config.recordings_dir.is_none() {
            settings.config.recordings_dir = Some(data_dir.join("recordings"));
        }
        let prompts_dir = settings
            .config
            .prompts_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("prompts"));
        let prompts =
            tokio::task::spawn_blocking(move || PromptLibrary::install_and_load(&prompts_dir))
                .await
                .map_err(|e| GatewayError::Prompts(e.to_string()))?
                .map_err(|e| GatewayError::Prompts(e.to_string()))?;
        let store_path = data_dir.join("gateway.sqlite3");
        let credentials = tokio::task::spawn_blocking(move || CredentialStore::open(&store_path))
            .await
            .map_err(|e| GatewayError::Store(e.to_string()))?
            .map_err(|e| GatewayError::Store(e.to_string()))?;
        let credentials = Arc::new(credentials);
        let outbox_path = data_dir.join("call_events.sqlite3");
        let outbox = tokio::task::spawn_blocking(move || CallEventOutbox::open(&outbox_path))
            .await
            .map_err(|e| GatewayError::Store(e.to_string()))?
            .map_err(|e| GatewayError::Store(e.to_string()))?;
        let outbox = Arc::new(outbox);

        let ticket_core: Channel = Endpoint::from_shared(settings.ticket_core_url.clone())
            .map_err(|e| GatewayError::TicketCoreUrl(e.to_string()))?
            .connect_lazy();

        let (inbound_tx, mut inbound_rx) = mpsc::channel::<Inbound>(4096);
        let (inputs, inputs_rx) = mpsc::channel::<Input>(8192);
        let history = CallerHistory::new(ticket_core.clone(), settings.service_token.clone());
        let web = WebApp::new(inputs.clone(), history, settings.config.realm.clone()).router();
        let transport = transport::start(settings.config.sip_listen, inbound_tx.clone())
            .await
            .map_err(|error| GatewayError::Io {
                what: format!("sip_listen {}", settings.config.sip_listen),
                error,
            })?;
        let ws_addr = match settings.config.ws_listen {
            Some(listen) => Some(
                crate::websocket::start(
                    listen,
                    None,
                    transport.clone(),
                    inbound_tx.clone(),
                    web.clone(),
                )
                .await
                .map_err(|error| GatewayError::Io {
                    what: format!("ws_listen {listen}"),
                    error,
                })?,
            ),
            None => None,
        };
        let wss_addr = match settings.config.wss_listen {
            Some(listen) => {
                let acceptor = crate::websocket::tls_acceptor(
                    settings.config.tls_cert.as_deref(),
                    settings.config.tls_key.as_deref(),
                    &data_dir.join("tls"),
                )
                .map_err(GatewayError::Tls)?;
                Some(
                    crate::websocket::start(
                        listen,
                        Some(acceptor),
                        transport.clone(),
                        inbound_tx,
                        web,
                    )
                    .await
                    .map_err(|error| GatewayError::Io {
                        what: format!("wss_listen {listen}"),
                        error,
                    })?,
                )
            }
            None => None,
        };
        let sip_addr = transport.local_addr();
        let (media_tx, mut media_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(parking_lot::Mutex::new(CoreStats::default()));

        let events = crate::call_events::spawn_recorder(outbox.clone());
        let credential_cache = CredentialCache::load(credentials.clone()).await?;
        let lookup_cache = credential_cache.clone();
        let mut nonce_secret = vec![0u8; 32];
        rand::fill(&mut nonce_secret[..]);
        // One certificate per process: browsers pin its fingerprint from each call's
        // SDP, so it need not outlive the process.
        let webrtc_identity = hotline_webrtc::DtlsIdentity::generate()
            .map_err(|error| GatewayError::WebRtc(error.to_string()))?;
        let core = Core::new(
            CoreParts {
                config: Arc::new(settings.config.clone()),
                transport,
                credentials: Arc::new(move |user: &str| lookup_cache.get(user)),
                prompts: Arc::new(prompts),
                events,
                nonce_secret,
                stats: stats.clone(),
                webrtc_identity,
            },
            media_tx,
        );
        let mut tasks = Vec::new();
        // SIP and media events funnel into the core's one mailbox.
        let forward_sip = inputs.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(inbound) = inbound_rx.recv().await {
                if forward_sip.send(Input::Sip(inbound)).await.is_err() {
                    break;
                }
            }
        }));
        let forward_media = inputs.clone();
        tasks.push(tokio::spawn(async move {
            while let Some((call, event)) = media_rx.recv().await {
                if forward_media.send(Input::Media(call, event)).await.is_err() {
                    break;
                }
            }
        }));
        tasks.push(tokio::spawn(core.run(inputs_rx)));

        let sender = CallEventSender::new(
            outbox.clone(),
            &settings.ticket_core_url,
            &settings.service_token,
        )
        .map_err(|e| GatewayError::TicketCoreUrl(e.to_string()))?;
        let api = AgentApi::new(
            inputs.clone(),
            ticket_core,
            settings.service_token.clone(),
            stats.clone(),
        );
        let grpc_listener = tokio::net::TcpListener::bind(settings.grpc_listen)
            .await
            .map_err(|error| GatewayError::Io {
                what: format!("grpc_listen {}", settings.grpc_listen),
                error,
            })?;
        let grpc_addr = grpc_listener
            .local_addr()
            .map_err(|error| GatewayError::Io {
                what: "grpc_listen".into(),
                error,
            })?;
        tracing::info!(%sip_addr, %grpc_addr, ?ws_addr, ?wss_addr, "gateway listening (SIP on UDP and TCP)");
        Ok(GatewayApp {
            sip_addr,
            grpc_addr,
            ws_addr,
            wss_addr,
            outbox,
            credentials,
            stats,
            inputs,
            tasks,
            grpc_listener,
            api,
            sender: Some(sender),
            credential_cache,
        })
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        if let Some(sender) = self.sender.take() {
            let mut stop = stop_rx.clone();
            self.tasks.push(tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                };
                if let Err(error) = sender.run(stopped).await {
                    tracing::error!(%error, "the call-event sender stopped");
                }
            }));
        }
        let cache = self.credential_cache.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(CREDENTIAL_RELOAD);
            loop {
                every.tick().await;
                if let Err(error) = cache.reload().await {
                    tracing::warn!(%error, "SIP credentials not reloaded");
                }
            }
        }));
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.grpc_listener);
        let service =
            hotline_api::gateway::v1::agent_service_server::AgentServiceServer::new(self.api);
        let mut stop = stop_rx.clone();
        let server = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            });
        let grpc = tokio::spawn(server);
        shutdown.await;
        let _ = stop_tx.send(true);
        // Agents' notification streams never end by themselves: give unary calls a
        // moment to finish, then stop serving.
        let grpc_abort = grpc.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(2), grpc)
            .await
            .is_err()
        {
            grpc_abort.abort();
        }
        for task in self.tasks {
            task.abort();
        }
    }
}
