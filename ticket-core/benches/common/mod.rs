//! What both benchmark programs share: settings from the environment, ticket content
//! that looks like the hotline's (so row sizes, segmentation and duplicate checks cost
//! what they cost in service), latency summaries, and CPU time per thread, which is how
//! the benchmarks tell where the time goes without a profiler.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use hotline_api::ticket::v1 as pb;
use hotline_workflow::validate::{resident_id_check_char, uscc_check_char};
use pb::ticket_service_server::TicketServiceServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ticket_core::app::{CoreApp, Settings};
use ticket_core::domain::actor::Authenticator;
use ticket_core::domain::{SystemClock, TicketCore, text};
use ticket_core::grpc::Handlers;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `name` parsed from the environment, or `default` when unset; a value that does not
/// parse stops the run rather than silently measuring something else.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid value")),
        Err(_) => default,
    }
}

pub fn env_secs(name: &str, default: f64) -> Duration {
    Duration::from_secs_f64(env_or(name, default))
}

/// Latencies in microseconds, from 1 µs to a minute.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = (elapsed.as_micros() as u64).clamp(1, 60_000_000);
    histogram.record(micros).expect("value within bounds");
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

/// "p50 1.23 ms, p99 …, p99.9 …, max …".
pub fn latency_line(h: &Histogram<u64>) -> String {
    format!(
        "p50 {}, p99 {}, p99.9 {}, max {}",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max())
    )
}

/// The machine, as BENCHMARKS.md wants it described: cores, CPU model, memory, kernel.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim())
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {:.1} GiB memory, Linux {}",
        mem_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

/// Which server set-up answers the benchmark's requests.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ServerKind {
    /// `CoreApp::build` and `CoreApp::run`, exactly as `hotline serve` runs it.
    App,
    /// The same handlers, database and settings, served on connections that have
    /// TCP_NODELAY set. `CoreApp::run` hands tonic its own listener, and tonic applies
    /// its TCP_NODELAY default only to listeners it binds itself, so the app's
    /// connections keep Nagle's algorithm; this set-up measures what setting it changes.
    NoDelay,
}

impl ServerKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::App => "CoreApp as shipped",
            Self::NoDelay => "same handlers, TCP_NODELAY on accepted connections",
        }
    }

    /// `app`, `nodelay` or `both`, from the variable `name` (default `app`).
    pub fn from_env(name: &str) -> Vec<Self> {
        match env_or(name, "app".to_owned()).as_str() {
            "app" => vec![Self::App],
            "nodelay" => vec![Self::NoDelay],
            "both" => vec![Self::App, Self::NoDelay],
            other => panic!("{name}={other:?}: use app, nodelay or both"),
        }
    }
}

/// A ticket-core server running on a runtime of this process.
pub struct Running {
    pub addr: SocketAddr,
    /// (user, token) of the sample users when the data dir was empty.
    pub first_start_tokens: Vec<(String, String)>,
    pub core: TicketCore,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Running {
    pub fn token_of(&self, user: &str) -> Option<String> {
        self.first_start_tokens
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, token)| token.clone())
    }

    /// Stops accepting, lets calls in flight finish, and waits for the server to end.
    pub fn stop(self, runtime: &Runtime) {
        let _ = self.stop.send(());
        runtime
            .block_on(self.task)
            .expect("server task")
            .expect("server");
    }
}

pub fn start_server(runtime: &Runtime, data_dir: &Path, kind: ServerKind) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    match kind {
        ServerKind::App => {
            let app = runtime
                .block_on(CoreApp::build(
                    Settings {
                        data_dir: data_dir.to_owned(),
                        listen: "127.0.0.1:0".parse().expect("address"),
                        core: Default::default(),
                    },
                    Arc::new(SystemClock),
                ))
                .expect("ticket-core starts");
            let first_start_tokens = app
                .first_start_tokens
                .iter()
                .flatten()
                .map(|t| (t.user.clone(), t.token.clone()))
                .collect();
            let addr = app.local_addr();
            let core = app.core().clone();
            let task = runtime.spawn(app.run(shutdown));
            Running {
                addr,
                first_start_tokens,
                core,
                stop,
                task,
            }
        }
        ServerKind::NoDelay => {
            let dir = data_dir.to_owned();
            let (db, tokens) = runtime
                .block_on(runtime.spawn_blocking(move || {
                    text::warm_up();
                    ticket_core::app::open_database(&dir, &SystemClock)
                }))
                .expect("start-up task")
                .expect("database opens");
            let core = TicketCore::new(db.clone(), Default::default(), Arc::new(SystemClock));
            let handlers = Handlers {
                core: core.clone(),
                auth: Arc::new(Authenticator::new(db)),
            };
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .expect("listen");
            let addr = listener.local_addr().expect("address");
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let server = tonic::transport::Server::builder()
                .add_service(TicketServiceServer::new(handlers))
                .serve_with_incoming_shutdown(incoming, shutdown);
            let task = runtime.spawn(server);
            Running {
                addr,
                first_start_tokens: tokens
                    .iter()
                    .flatten()
                    .map(|t| (t.user.clone(), t.token.clone()))
                    .collect(),
                core,
                stop,
                task,
            }
        }
    }
}

pub fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Bytes of the database with its WAL and shared-memory files.
pub fn database_bytes(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// Reads the database files once, so every run starts from a warm operating-system
/// cache as a server that has been up for a while does, whether the data was just
/// loaded or kept from an earlier run (which otherwise starts cold and measures the disk).
pub fn warm_page_cache(path: &Path) {
    for suffix in ["", "-wal"] {
        if let Ok(mut file) = std::fs::File::open(format!("{}{suffix}", path.display())) {
            let _ = std::io::copy(&mut file, &mut std::io::sink());
        }
    }
}

pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// CPU time (user + system) of every live thread of this process, by thread id, with
/// the thread's name. Linux reports it in ticks of 1/100 s whatever the kernel's HZ.
/// Also the busy ticks of the whole machine, since these machines are shared and
/// another program's load changes what this one can reach.
pub struct CpuSample {
    threads: HashMap<u32, (String, u64)>,
    machine_busy: u64,
}

/// Busy ticks of all CPUs together: everything but idle and I/O wait, from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle)
}

pub fn cpu_sample() -> CpuSample {
    let mut threads = HashMap::new();
    let machine_busy = machine_busy_ticks();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return CpuSample {
            threads,
            machine_busy,
        };
    };
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // The name may hold spaces or parentheses: it ends at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state is field 3 of stat(5), utime 14 and stime 15.
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
            threads.insert(tid, (name, user + system));
        }
    }
    CpuSample {
        threads,
        machine_busy,
    }
}

impl CpuSample {
    /// CPU seconds spent since `earlier`, summed by thread name, largest first. A thread
    /// born in between counts whole; one that ended in between is missed.
    pub fn since(&self, earlier: &CpuSample) -> Vec<(String, f64)> {
        let mut by_name: HashMap<String, u64> = HashMap::new();
        for (tid, (name, ticks)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, t)| *t);
            *by_name.entry(name.clone()).or_default() += ticks.saturating_sub(before);
        }
        let mut out: Vec<(String, f64)> = by_name
            .into_iter()
            .filter(|(_, ticks)| *ticks > 0)
            .map(|(name, ticks)| (name, ticks as f64 / 100.0))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// "core-rt 9.1 s (0.91 cores), sqlite-writer 5.0 s (0.50 cores); this process 1.41
/// cores, whole machine 2.00 cores busy" between two samples `window` apart.
pub fn cpu_line(before: &CpuSample, after: &CpuSample, window: Duration) -> String {
    let secs = window.as_secs_f64().max(1e-9);
    let usage = after.since(before);
    let process: f64 = usage.iter().map(|(_, cpu)| cpu).sum();
    let machine = after.machine_busy.saturating_sub(before.machine_busy) as f64 / 100.0;
    let threads = usage
        .iter()
        .map(|(name, cpu)| format!("{name} {cpu:.1} s ({:.2} cores)", cpu / secs))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{threads}; this process {:.2} cores, whole machine {:.2} of {} cores busy",
        process / secs,
        machine / secs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "梁", "谢", "宋", "唐",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "兰", "霞", "平", "刚", "桂英", "建华", "志强", "海燕",
];
const CITIES: &[(&str, &str)] = &[
    ("广州", "440106"),
    ("广州", "440111"),
    ("广州", "440105"),
    ("深圳", "440303"),
    ("深圳", "440305"),
    ("佛山", "440600"),
    ("东莞", "441900"),
];
const TRADE_NAMES: &[&str] = &[
    "华强",
    "恒通",
    "顺达",
    "宏图",
    "金盛",
    "新世纪",
    "南方",
    "创达",
    "永利",
    "粤海",
    "鸿运",
    "天成",
    "利丰",
    "嘉和",
    "瑞祥",
    "诚信",
];
const BUSINESSES: &[(&str, &str)] = &[
    ("建筑工程", "E"),
    ("电子科技", "C"),
    ("物流", "G"),
    ("餐饮管理", "H"),
    ("服装", "C"),
    ("家具制造", "C"),
    ("物业管理", "K"),
    ("保安服务", "L"),
    ("快递", "G"),
    ("商贸", "F"),
];
const FORMS: &[&str] = &["有限公司", "有限责任公司", "股份有限公司"];
pub const TOPICS: &[&str] = &[
    "欠薪",
    "工伤",
    "劳动合同",
    "社会保险",
    "加班",
    "解除劳动关系",
    "经济补偿",
    "职业病",
    "休息休假",
    "女职工权益",
];
const SENTENCES: &[&str] = &[
    "老板已经拖欠三个月工资，一共两万四千多元，多次催讨都说资金周转困难。",
    "公司一直没有和我们签订书面劳动合同，入职的时候只口头说好了工资。",
    "上个月在车间搬货时从梯子上摔下来，腿骨折了，公司不肯给申请工伤认定。",
    "每天从早上八点干到晚上十点，周末也不休息，从来没有发过加班费。",
    "公司突然通知我们下周不用来上班了，说是业务调整，但是不给经济补偿。",
    "社保只按最低基数缴纳，去年还有四个月断缴，现在看病报销不了。",
    "我们班组一共十几个工友都是同样的情况，大家都很着急，怕过年回不了家。",
    "希望工会能帮忙协调一下，尽快把工资拿回来，家里老人小孩都等着用钱。",
    "已经去劳动监察大队反映过，说要等调查，已经过去一个月了还没有结果。",
    "工地项目负责人说总包单位没有付工程款，一直在推脱，现在人也联系不上了。",
    "请问这种情况应该怎么维权，需要准备哪些材料，能不能申请法律援助？",
    "怀孕以后公司把我调到了仓库，工资降了一半，还暗示让我自己辞职。",
    "在喷漆车间干了六年，最近体检查出肺部有问题，想知道能不能认定职业病。",
    "公司要求我们签一份自愿放弃缴纳社保的声明，不签就不给发上个月的工资。",
];
const PLACES: &[&str] = &[
    "天河区黄埔大道西88号工地",
    "白云区太和镇某工业园3栋",
    "海珠区新港东路1068号",
    "南山区科技园南区某大厦",
    "宝安区福永街道某电子厂",
    "顺德区北滘镇某家具厂",
    "东莞市长安镇某五金厂",
    "",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

pub fn mobile(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u32)
    )
}

pub fn person_name(rng: &mut StdRng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

/// A well-formed GB 11643 identity number (real birth date, correct check character).
pub fn resident_id(rng: &mut StdRng) -> String {
    let (_, region) = pick(rng, CITIES);
    let body = format!(
        "{region}{}{:02}{:02}{:03}",
        rng.random_range(1965..=2004),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
        rng.random_range(0..1000)
    );
    let check = resident_id_check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

/// Employer number `index` of a fixed pool: its name, USCC (most have one), region and
/// industry. The same index always gives the same employer, so repeated complaints
/// about one employer meet in the duplicate check as they do in service.
pub fn employer(index: usize) -> pb::Employer {
    let mut rng = StdRng::seed_from_u64(0xE11 + index as u64);
    let (city, region) = pick(&mut rng, CITIES);
    let (business, industry) = pick(&mut rng, BUSINESSES);
    let name = format!(
        "{city}市{}{business}{}",
        pick(&mut rng, TRADE_NAMES),
        pick(&mut rng, FORMS)
    );
    let uscc = if rng.random_bool(0.6) {
        let alphabet = hotline_workflow::validate::USCC_ALPHABET.as_bytes();
        let org: String = (0..9)
            .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
            .collect();
        let body = format!("91{region}{org}");
        let check = uscc_check_char(&body).expect("17 characters of the alphabet");
        format!("{body}{check}")
    } else {
        String::new()
    };
    pb::Employer {
        name,
        uscc,
        region_code: (*region).to_owned(),
        industry_code: (*industry).to_owned(),
    }
}

pub const EMPLOYERS: usize = 2_000;

/// A description of two to five sentences (roughly 70 to 200 characters).
pub fn description(rng: &mut StdRng) -> String {
    let count = rng.random_range(2..=5);
    (0..count).map(|_| *pick(rng, SENTENCES)).collect()
}

/// A create request as an agent fills it in during a call.
pub fn create_request(rng: &mut StdRng, request_id: String) -> pb::CreateTicketRequest {
    let workers = if rng.random_bool(0.1) {
        rng.random_range(5..=40)
    } else {
        rng.random_range(1..=3)
    };
    let resident_id = if rng.random_bool(0.5) {
        resident_id(rng)
    } else {
        String::new()
    };
    let kinds = [
        pb::TicketKind::Consultation,
        pb::TicketKind::Consultation,
        pb::TicketKind::Complaint,
        pb::TicketKind::Complaint,
        pb::TicketKind::Request,
        pb::TicketKind::LegalAid,
    ];
    pb::CreateTicketRequest {
        channel: if rng.random_bool(0.9) {
            pb::Channel::Phone
        } else {
            pb::Channel::Wechat
        } as i32,
        kind: *pick(rng, &kinds) as i32,
        topic: (*pick(rng, TOPICS)).to_owned(),
        caller: Some(pb::Caller {
            phone: mobile(rng),
            name: person_name(rng),
            resident_id,
            email: String::new(),
        }),
        employer: Some(employer(rng.random_range(0..EMPLOYERS))),
        place_region_code: String::new(),
        place_detail: (*pick(rng, PLACES)).to_owned(),
        workers,
        description: description(rng),
        call_ids: Vec::new(),
        urgent: rng.random_bool(0.01),
        request_id,
    }
}

/// Ends a bulk load: the daily ticket-number counters the loaded tickets used, and the
/// last commit.
pub fn finish_bulk_load(tx: rusqlite::Transaction<'_>, per_day: &HashMap<String, i64>) {
    for (day, value) in per_day {
        tx.execute(
            "INSERT OR REPLACE INTO counters(name, value) VALUES (?1, ?2)",
            rusqlite::params![format!("ticket:{day}"), value],
        )
        .expect("counter");
    }
    tx.commit().expect("commit");
}

/// A checkpoint and fresh planner statistics, as a long-running site has.
pub fn checkpoint_and_analyze(conn: &rusqlite::Connection) {
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
}

/// A fresh token for `user` (works on a reused database too).
pub fn issue_token(path: &Path, user: &str) -> String {
    let mut conn = ticket_core::store::open_connection(path, true).expect("open");
    ticket_core::admin::issue_token(
        &mut conn,
        user,
        "benchmark",
        false,
        chrono::Utc::now().timestamp_millis(),
    )
    .expect("token")
}
