//! `hotline report`: the daily, monthly, quarterly and yearly reports (日报、月报、季报、年报)
//! supervisors hand on, exported as CSV or XLSX with Chinese headers. The figures come from
//! a running server's `MetricsService`, so a report shows exactly what the supervisors'
//! screens show; their definitions are in ticket-core/METRICS.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use clap::Args;
use hotline_api::BearerToken;
use hotline_api::ticket::v1 as pb;
use pb::directory_service_client::DirectoryServiceClient;
use pb::metrics_service_client::MetricsServiceClient;
use tonic::transport::{Channel, Endpoint};

/// Bad arguments (sysexits EX_USAGE), as for a configuration that cannot be used.
const EXIT_USAGE: u8 = 64;
/// China keeps one time zone, UTC+8, with no daylight saving.
const CHINA_OFFSET_SECS: i32 = 8 * 3600;
/// Entries per volume table: the most the server gives.
const VOLUME_TOP: i32 = 100;
/// Widest column in a worksheet, in character widths.
const MAX_COLUMN_WIDTH: usize = 60;

#[derive(Args)]
pub struct ReportArgs {
    /// day, month, quarter or year (日报、月报、季报、年报).
    #[arg(long)]
    period: Option<String>,
    /// Any day inside the period, as 2026-11-23 (default: the previous complete period).
    #[arg(long)]
    date: Option<String>,
    /// The organisation to report on, by code (default: everything within the caller's reach).
    #[arg(long)]
    org: Option<String>,
    /// csv or xlsx (default: from the extension of --out, else csv).
    #[arg(long)]
    format: Option<String>,
    /// The file to write (default: hotline-report-<period>-<date>.<format> here).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The hotline server's gRPC address.
    #[arg(long, env = "HOTLINE_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
    /// A bearer token of a user allowed to read figures (supervisor, dispatcher, union …).
    #[arg(long, env = "HOTLINE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeriodKind {
    Day,
    Month,
    Quarter,
    Year,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

/// One reporting period in China time: [start, end) as dates and as instants.
#[derive(Debug, PartialEq, Eq)]
struct Period {
    kind: PeriodKind,
    start: NaiveDate,
    end: NaiveDate,
}

struct Request {
    period: Period,
    org: String,
    format: Format,
    out: PathBuf,
    endpoint: Endpoint,
    bearer: BearerToken,
}

/// An argument that cannot be used, with the argument's name in the message.
struct UsageError(String);

fn usage(argument: &str, problem: impl std::fmt::Display) -> UsageError {
    UsageError(format!("{argument}: {problem}"))
}

pub fn run(args: ReportArgs) -> ExitCode {
    let request = match validate(args, today_in_china()) {
        Ok(request) => request,
        Err(UsageError(message)) => {
            eprintln!("hotline report: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match export(request) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline report: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(CHINA_OFFSET_SECS).expect("UTC+8 is a valid offset")
}

fn today_in_china() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

fn validate(args: ReportArgs, today: NaiveDate) -> Result<Request, UsageError> {
    let kind = match args.period.as_deref().map(str::trim) {
        Some("day") => PeriodKind::Day,
        Some("month") => PeriodKind::Month,
        Some("quarter") => PeriodKind::Quarter,
        Some("year") => PeriodKind::Year,
        Some(other) => {
            let problem = format!("{other:?} is not a period: use day, month, quarter or year");
            return Err(usage("--period", problem));
        }
        None => return Err(usage("--period", "required: day, month, quarter or year")),
    };
    let period = match args.date.as_deref().map(str::trim) {
        Some(text) => {
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| usage("--date", format!("{text:?} is not a date like 2026-11-23")))?;
            Period::containing(kind, day)
        }
        None => Period::containing(kind, today).previous(),
    };
    let format = match (
        args.format.as_deref().map(str::trim),
        args.out.as_deref().map(extension),
    ) {
        (Some("csv"), _) => Format::Csv,
        (Some("xlsx"), _) => Format::Xlsx,
        (Some(other), _) => {
            let problem = format!("{other:?} is not a format: use csv or xlsx");
            return Err(usage("--format", problem));
        }
        (None, Some(Some(ext))) if ext == "xlsx" => Format::Xlsx,
        (None, Some(Some(ext))) if ext == "csv" => Format::Csv,
        (None, Some(_)) => {
            let problem = "give it, or name a .csv or .xlsx file with --out";
            return Err(usage("--format", problem));
        }
        (None, None) => Format::Csv,
    };
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "hotline-report-{}-{}.{}",
            period.kind.name(),
            period.start.format("%Y-%m-%d"),
            format.extension()
        ))
    });
    let endpoint = Endpoint::from_shared(args.server.trim().to_owned())
        .map_err(|e| usage("--server", format!("{:?} is not a URL: {e}", args.server)))?;
    let token = args
        .token
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| usage("--token", "required (or set HOTLINE_TOKEN)"))?;
    let bearer = BearerToken::new(&token)
        .map_err(|_| usage("--token", "holds characters a token cannot have"))?;
    Ok(Request {
        period,
        org: args.org.unwrap_or_default().trim().to_owned(),
        format,
        out,
        endpoint,
        bearer,
    })
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

impl PeriodKind {
    /// The argument's value and the report's name.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Day => ("day", "日报"),
            Self::Month => ("month", "月报"),
            Self::Quarter => ("quarter", "季报"),
            Self::Year => ("year", "年报"),
        }
    }

    fn name(self) -> &'static str {
        self.names().0
    }

    fn title(self) -> &'static str {
        self.names().1
    }
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("the first of a month exists")
}

/// The first day of the month `months` after `year`-`month` (month 1–12).
fn add_months(year: i32, month: u32, months: u32) -> NaiveDate {
    let index = year * 12 + (month as i32 - 1) + months as i32;
    first_of_month(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
}

impl Period {
    fn containing(kind: PeriodKind, day: NaiveDate) -> Self {
        let (start, end) = match kind {
            PeriodKind::Day => (day, day + Duration::days(1)),
            PeriodKind::Month => (
                first_of_month(day.year(), day.month()),
                add_months(day.year(), day.month(), 1),
            ),
            PeriodKind::Quarter => {
                let first_month = (day.month() - 1) / 3 * 3 + 1;
                (
                    first_of_month(day.year(), first_month),
                    add_months(day.year(), first_month, 3),
                )
            }
            PeriodKind::Year => (
                first_of_month(day.year(), 1),
                first_of_month(day.year() + 1, 1),
            ),
        };
        Self { kind, start, end }
    }

    /// The period just before this one: the last complete one when this one holds today.
    fn previous(&self) -> Self {
        Self::containing(self.kind, self.start - Duration::days(1))
    }

    fn millis(date: NaiveDate) -> i64 {
        china()
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
            .single()
            .expect("a fixed offset has one midnight")
            .timestamp_millis()
    }

    fn start_ms(&self) -> i64 {
        Self::millis(self.start)
    }

    fn end_ms(&self) -> i64 {
        Self::millis(self.end)
    }

    /// "2026年11月", "2026年第四季度", …
    fn label(&self) -> String {
        let s = self.start;
        match self.kind {
            PeriodKind::Day => format!("{}年{}月{}日", s.year(), s.month(), s.day()),
            PeriodKind::Month => format!("{}年{}月", s.year(), s.month()),
            PeriodKind::Quarter => {
                let quarter = ["一", "二", "三", "四"][(s.month() as usize - 1) / 3];
                format!("{}年第{quarter}季度", s.year())
            }
            PeriodKind::Year => format!("{}年", s.year()),
        }
    }

    fn range(&self) -> String {
        format!(
            "{} 00:00 至 {} 00:00（北京时间）",
            self.start.format("%Y-%m-%d"),
            self.end.format("%Y-%m-%d")
        )
    }
}

/// What the server answered for one report.
struct Fetched {
    scope: String,
    summary: pb::MetricsSummary,
    overdue: Vec<pb::OverdueWorkOrder>,
}

fn export(request: Request) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let fetched = runtime.block_on(fetch(&request))?;
    let generated = Utc::now().with_timezone(&china());
    let tables = tables::build(&request.period, &fetched, generated);
    let bytes = match request.format {
        Format::Csv => tables::to_csv(&tables)?,
        Format::Xlsx => tables::to_xlsx(&tables)?,
    };
    std::fs::write(&request.out, bytes)
        .with_context(|| format!("cannot write {}", request.out.display()))?;
    println!(
        "wrote {} ({}{}, {}): {} tickets, {} work orders dispatched, {} overdue",
        request.out.display(),
        request.period.label(),
        request.period.kind.title(),
        fetched.scope,
        fetched.summary.tickets,
        fetched.summary.work_orders_dispatched,
        fetched.overdue.len()
    );
    Ok(())
}

/// Explains the statuses a person running the command can act on.
fn explain(status: tonic::Status, what: &str) -> anyhow::Error {
    let hint = match status.code() {
        tonic::Code::Unauthenticated => {
            "the server does not accept this token (check --token or HOTLINE_TOKEN)"
        }
        tonic::Code::PermissionDenied => "this user may not read figures",
        tonic::Code::NotFound => "no such organisation within this user's reach (check --org)",
        tonic::Code::Unavailable => "the server cannot be reached (check --server)",
        _ => "the server refused",
    };
    anyhow::anyhow!("{what}: {hint}: {}", status.message())
}

async fn fetch(request: &Request) -> anyhow::Result<Fetched> {
    let uri = request.endpoint.uri().clone();
    let channel: Channel = request
        .endpoint
        .clone()
        .connect_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot reach the hotline server at {uri} (check --server)"))?;
    let bearer = request.bearer.clone();
    let mut directory = DirectoryServiceClient::with_interceptor(channel.clone(), bearer.clone());
    let mut metrics = MetricsServiceClient::with_interceptor(channel, bearer);

    // The organisation the figures cover: --org, else the caller's reach, which for
    // administrators and programs is the whole tree (the server applies the same rule).
    let scope_code = if request.org.is_empty() {
        let me = directory
            .who_am_i(pb::WhoAmIRequest {})
            .await
            .map_err(|s| explain(s, "cannot identify the caller"))?
            .into_inner();
        (!matches!(me.role.as_str(), "admin" | "service")).then_some(me.org_code)
    } else {
        Some(request.org.clone())
    };
    // "广州市天河区总工会（440106）"; the bare code when the directory cannot name it, as
    // the figures themselves decide whether the organisation is within reach.
    let scope = match scope_code {
        None => "全部单位".to_owned(),
        Some(code) => match directory
            .get_organisation(pb::GetOrganisationRequest { code: code.clone() })
            .await
        {
            Ok(org) => format!("{}（{code}）", org.get_ref().name),
            Err(_) => code,
        },
    };
    let metrics_request = pb::MetricsRequest {
        from_ms: request.period.start_ms(),
        to_ms: request.period.end_ms(),
        org_code: request.org.clone(),
        top: VOLUME_TOP,
    };
    let summary = metrics
        .get_summary(metrics_request.clone())
        .await
        .map_err(|s| explain(s, "cannot read the figures"))?
        .into_inner();
    let overdue = metrics
        .list_overdue(metrics_request)
        .await
        .map_err(|s| explain(s, "cannot read the overdue work orders"))?
        .into_inner()
        .work_orders;
    Ok(Fetched {
        scope,
        summary,
        overdue,
    })
}

/// The report as tables, and the two ways of writing them out: one CSV with the tables one
/// after another, or one worksheet per table.
mod tables {
    use chrono::{DateTime, FixedOffset};
    use hotline_api::ticket::v1 as pb;
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};

    use super::{Fetched, MAX_COLUMN_WIDTH, Period};

    pub enum Cell {
        Text(String),
        Int(i64),
        /// A rate from its numerator and denominator; blank (—) when nothing was due.
        Percent(i64, i64),
        /// A number shown with this many decimals.
        Fixed(f64, usize),
        Empty,
    }

    pub struct Table {
        /// The worksheet's name (at most 31 characters).
        pub sheet: &'static str,
        pub title: String,
        pub headers: Vec<&'static str>,
        pub rows: Vec<Vec<Cell>>,
    }

    fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    fn rate_parts(rate: &Option<pb::Rate>) -> (i64, i64) {
        rate.as_ref()
            .map_or((0, 0), |r| (r.numerator, r.denominator))
    }

    /// A summary line for a rate: name, percentage, numerator, denominator, definition.
    fn rate_row(name: &str, rate: &Option<pb::Rate>, definition: &str) -> Vec<Cell> {
        let (numerator, denominator) = rate_parts(rate);
        vec![
            text(name),
            Cell::Percent(numerator, denominator),
            Cell::Int(numerator),
            Cell::Int(denominator),
            text(definition),
        ]
    }

    fn value_row(name: &str, value: Cell, definition: &str) -> Vec<Cell> {
        vec![
            text(name),
            value,
            Cell::Empty,
            Cell::Empty,
            text(definition),
        ]
    }

    /// Chinese names of the codes the server reports, for the reader of the report.
    #[rustfmt::skip]
    const LABELS: &[(&str, &str)] = &[
        ("phone", "来电"), ("letter", "来信"), ("visit", "来访"), ("web", "网上"), ("wechat", "微信"),
        ("consultation", "咨询"), ("request", "求决"), ("complaint", "投诉/检举"),
        ("suggestion", "意见建议"), ("legal_aid", "法律援助"), ("hardship", "困难帮扶"),
        ("dispatched", "已交办未签收"), ("signed", "已签收办理中"),
        ("sign_for", "签收超期"), ("reply", "答复超期"),
    ];

    fn label(code: &str) -> String {
        LABELS
            .iter()
            .find(|(key, _)| *key == code)
            .map_or(code, |(_, name)| name)
            .to_owned()
    }

    fn china_time(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .map(|t| {
                t.with_timezone(&super::china())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    pub fn build(
        period: &Period,
        fetched: &Fetched,
        generated: DateTime<FixedOffset>,
    ) -> Vec<Table> {
        let s = &fetched.summary;
        let heading = format!("{}{}{}", fetched.scope, period.label(), period.kind.title());
        let mut tables = vec![
            summary_table(&heading, period, fetched, generated),
            union_table(&heading, s),
        ];
        // Channels and kinds come as codes, named here; the others come with their names.
        #[rustfmt::skip]
        let volumes: [(&str, [&str; 2], &[pb::Count], bool); 6] = [
            ("按渠道", ["渠道代码", "渠道"], &s.by_channel, true),
            ("按类别", ["类别代码", "类别"], &s.by_kind, true),
            ("按诉求", ["诉求", ""], &s.by_topic, false),
            ("按地区", ["行政区划代码", "地区"], &s.by_region, false),
            ("按行业", ["行业代码", "行业"], &s.by_industry, false),
            ("按用人单位", ["用人单位标识（统一社会信用代码或名称）", "用人单位名称"], &s.by_employer, false),
        ];
        for (sheet, headers, counts, coded) in volumes {
            tables.push(volume_table(
                &heading, sheet, headers, counts, s.tickets, coded,
            ));
        }
        tables.push(overdue_table(&heading, &fetched.overdue, generated));
        tables
    }

    fn summary_table(
        heading: &str,
        period: &Period,
        fetched: &Fetched,
        generated: DateTime<FixedOffset>,
    ) -> Table {
        let s = &fetched.summary;
        let name = format!("{}{}", period.label(), period.kind.title());
        let exported = generated.format("%Y-%m-%d %H:%M（北京时间）").to_string();
        let yuan = s.amount_recovered_fen as f64 / 100.0;
        let wait_secs = s.average_wait_ms as f64 / 1000.0;
        #[rustfmt::skip]
        let rows = vec![
            value_row("报表期间", text(name), &period.range()),
            value_row("统计范围", text(&fetched.scope), "本单位及下级单位"),
            value_row("工单总数", Cell::Int(s.tickets), "本期登记的工单；下级单位范围内为交办至本范围的工单"),
            value_row("交办件数", Cell::Int(s.work_orders_dispatched), "本期交办至本范围各承办单位的交办单"),
            rate_row("按期办结率", &s.on_time_closure, "按期答复件数 / 应办结件数（答复期限在本期内，已答复或已超期；不含退单）"),
            rate_row("按期签收率", &s.timely_sign_for, "按期签收件数 / 应签收件数（本期交办，已签收或签收期限已过）"),
            rate_row("退单率", &s.returns, "退单件数 / 交办件数（本期交办）"),
            rate_row("回访满意率", &s.satisfaction, "满意和基本满意件数 / 回访接通件数（本期交办）"),
            rate_row("一次办结率", &s.first_contact_resolution, "当场办结件数 / 工单总数"),
            value_row("超期件数", Cell::Int(s.overdue), "截至导出时仍超期未签收或未答复的交办单（不限交办日期）"),
            value_row("催办次数", Cell::Int(s.urges), "本期交办的交办单上的提醒、催办和督办"),
            value_row("追回金额（元）", Cell::Fixed(yuan, 2), "本期交办且已答复的交办单最近一次答复所报"),
            value_row("帮助职工人数", Cell::Int(s.workers_helped), "本期交办且已答复的交办单最近一次答复所报"),
            value_row("来电量", Cell::Int(s.calls_offered), "本期呼入电话；仅全省范围统计"),
            rate_row("接通率", &s.calls_answered, "接通量 / 来电量"),
            value_row("放弃来电", Cell::Int(s.calls_abandoned), "未接通即结束的来电"),
            value_row("平均等待（秒）", Cell::Fixed(wait_secs, 1), "接通来电从排队到接通的平均时长"),
            value_row("导出时间", text(exported), ""),
        ];
        Table {
            sheet: "汇总",
            title: format!("{heading} · 汇总"),
            headers: vec!["项目", "数值", "分子", "分母", "口径"],
            rows,
        }
    }

    fn union_row(u: &pb::UnionFigures) -> Vec<Cell> {
        let (on_time, due) = rate_parts(&u.on_time_closure);
        let (signed, sign_due) = rate_parts(&u.timely_sign_for);
        let (returned, sent) = rate_parts(&u.returns);
        #[rustfmt::skip]
        let row = vec![
            text(&u.org_code), text(&u.org_name), Cell::Int(u.dispatched),
            Cell::Percent(on_time, due), Cell::Int(on_time), Cell::Int(due),
            Cell::Percent(signed, sign_due), Cell::Int(signed), Cell::Int(sign_due),
            Cell::Percent(returned, sent), Cell::Int(returned), Cell::Int(u.overdue), Cell::Int(u.urges),
        ];
        row
    }

    /// One line per union, then the total, which is the summary's figures.
    fn union_table(heading: &str, s: &pb::MetricsSummary) -> Table {
        let total = pb::UnionFigures {
            org_code: "合计".to_owned(),
            org_name: String::new(),
            dispatched: s.work_orders_dispatched,
            on_time_closure: s.on_time_closure,
            timely_sign_for: s.timely_sign_for,
            returns: s.returns,
            overdue: s.overdue,
            urges: s.urges,
        };
        #[rustfmt::skip]
        let headers = vec![
            "单位代码", "单位名称", "交办件数", "按期办结率", "按期答复件数", "应办结件数",
            "按期签收率", "按期签收件数", "应签收件数", "退单率", "退单件数", "超期件数", "催办次数",
        ];
        Table {
            sheet: "各单位",
            title: format!("{heading} · 各承办单位"),
            headers,
            rows: s.by_union.iter().chain([&total]).map(union_row).collect(),
        }
    }

    /// Counts of tickets by one attribute: its code, its name (when `headers[1]` is not
    /// empty; from [`LABELS`] when `coded`), the count and its share of all tickets.
    fn volume_table(
        heading: &str,
        sheet: &'static str,
        headers: [&'static str; 2],
        counts: &[pb::Count],
        tickets: i64,
        coded: bool,
    ) -> Table {
        let named = !headers[1].is_empty();
        let truncated = counts.len() >= super::VOLUME_TOP as usize;
        Table {
            sheet,
            title: match truncated {
                true => format!("{heading} · {sheet}（前{}项）", counts.len()),
                false => format!("{heading} · {sheet}"),
            },
            headers: headers
                .into_iter()
                .filter(|h| !h.is_empty())
                .chain(["工单数", "占比"])
                .collect(),
            rows: counts
                .iter()
                .map(|c| {
                    let mut row = vec![text(&c.key)];
                    if named {
                        row.push(text(if coded {
                            label(&c.key)
                        } else {
                            c.label.clone()
                        }));
                    }
                    row.extend([Cell::Int(c.count), Cell::Percent(c.count, tickets)]);
                    row
                })
                .collect(),
        }
    }

    fn overdue_table(
        heading: &str,
        overdue: &[pb::OverdueWorkOrder],
        generated: DateTime<FixedOffset>,
    ) -> Table {
        #[rustfmt::skip]
        let headers = vec![
            "交办单号", "工单编号", "承办单位代码", "承办单位", "状态", "超期环节", "期限",
            "已超期（天）", "催办次数",
        ];
        let cutoff = generated.format("%Y-%m-%d %H:%M");
        Table {
            sheet: "超期工单",
            title: format!("{heading} · 超期交办单（截至{cutoff}）"),
            headers,
            rows: overdue
                .iter()
                .map(|o| {
                    vec![
                        Cell::Int(o.work_order_id),
                        text(&o.ticket_number),
                        text(&o.org_code),
                        text(&o.org_name),
                        text(label(&o.state)),
                        text(label(&o.stage)),
                        text(china_time(o.due_at_ms)),
                        Cell::Fixed(o.overdue_ms as f64 / 86_400_000.0, 1),
                        Cell::Int(i64::from(o.urge_count)),
                    ]
                })
                .collect(),
        }
    }

    impl Cell {
        fn csv(&self) -> String {
            match self {
                Cell::Text(t) => t.clone(),
                Cell::Int(n) => n.to_string(),
                Cell::Percent(_, 0) => "—".to_owned(),
                Cell::Percent(n, d) => format!("{:.1}%", 100.0 * *n as f64 / *d as f64),
                Cell::Fixed(x, decimals) => format!("{x:.decimals$}"),
                Cell::Empty => String::new(),
            }
        }
    }

    /// UTF-8 with a byte-order mark, which is how Excel knows the file is UTF-8 and shows
    /// the Chinese text; each table is a title row, a header row and its rows, and a blank
    /// line separates the tables.
    pub fn to_csv(tables: &[Table]) -> anyhow::Result<Vec<u8>> {
        let mut out = "\u{FEFF}".as_bytes().to_vec();
        for (index, table) in tables.iter().enumerate() {
            if index > 0 {
                out.extend_from_slice(b"\r\n");
            }
            // Rows differ in length between a title and a table, hence flexible.
            let mut writer = csv::WriterBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            writer.write_record([&table.title])?;
            writer.write_record(&table.headers)?;
            for row in &table.rows {
                writer.write_record(row.iter().map(Cell::csv))?;
            }
            out.extend(writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        Ok(out)
    }

    /// Columns as wide as a person reading the sheet needs: Chinese characters take two
    /// widths in Excel's default font, Latin ones one.
    fn display_width(text: &str) -> usize {
        text.chars()
            .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
            .sum()
    }

    pub fn to_xlsx(tables: &[Table]) -> anyhow::Result<Vec<u8>> {
        let mut workbook = Workbook::new();
        let title_format = Format::new().set_bold().set_font_size(13);
        let header_format = Format::new()
            .set_bold()
            .set_background_color("#DDEBF7")
            .set_border_bottom(FormatBorder::Thin);
        let percent = Format::new().set_num_format("0.0%");
        // Days overdue and seconds waited with one decimal; money in yuan with two.
        let fixed = [
            Format::new().set_num_format("0.0"),
            Format::new().set_num_format("#,##0.00"),
        ];
        for table in tables {
            let sheet = workbook.add_worksheet();
            sheet.set_name(table.sheet)?;
            sheet.write_string_with_format(0, 0, &table.title, &title_format)?;
            let mut widths: Vec<usize> = table.headers.iter().map(|h| display_width(h)).collect();
            for (col, header) in table.headers.iter().enumerate() {
                sheet.write_string_with_format(1, col as u16, *header, &header_format)?;
            }
            for (index, row) in table.rows.iter().enumerate() {
                let r = index as u32 + 2;
                for (col, cell) in row.iter().enumerate() {
                    let c = col as u16;
                    let ratio = |n: &i64, d: &i64| *n as f64 / *d as f64;
                    match cell {
                        Cell::Text(t) => sheet.write_string(r, c, t),
                        Cell::Int(n) => sheet.write_number(r, c, *n as f64),
                        Cell::Percent(_, 0) => sheet.write_string(r, c, "—"),
                        Cell::Percent(n, d) => {
                            sheet.write_number_with_format(r, c, ratio(n, d), &percent)
                        }
                        Cell::Fixed(x, 1) => sheet.write_number_with_format(r, c, *x, &fixed[0]),
                        Cell::Fixed(x, _) => sheet.write_number_with_format(r, c, *x, &fixed[1]),
                        Cell::Empty => continue,
                    }?;
                    if let Some(width) = widths.get_mut(col) {
                        *width = (*width).max(display_width(&cell.csv()));
                    }
                }
            }
            for (col, width) in widths.iter().enumerate() {
                sheet.set_column_width(col as u16, (width + 2).min(MAX_COLUMN_WIDTH) as f64)?;
            }
            // Keep the title and headers in view while scrolling.
            sheet.set_freeze_panes(2, 0)?;
        }
        Ok(workbook.save_to_buffer()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_follow_the_calendar_in_china_time() {
        let q = Period::containing(PeriodKind::Quarter, day("2026-11-23"));
        assert_eq!((q.start, q.end), (day("2026-10-01"), day("2027-01-01")));
        assert_eq!(q.label(), "2026年第四季度");
        let m = Period::containing(PeriodKind::Month, day("2026-12-31"));
        assert_eq!((m.start, m.end), (day("2026-12-01"), day("2027-01-01")));
        // Midnight in Beijing is 16:00 UTC the day before.
        let utc = Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap();
        assert_eq!(m.start_ms(), utc.timestamp_millis());
        let previous = Period::containing(PeriodKind::Month, day("2026-01-15")).previous();
        assert_eq!(previous.start, day("2025-12-01"));
        let y = Period::containing(PeriodKind::Year, day("2024-02-29")).previous();
        assert_eq!((y.start, y.end), (day("2023-01-01"), day("2024-01-01")));
        let d = Period::containing(PeriodKind::Day, day("2026-03-01")).previous();
        assert_eq!(d.label(), "2026年2月28日");
    }
}
