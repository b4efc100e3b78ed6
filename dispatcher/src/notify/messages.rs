//! Chinese emails to unions and supervisors: 交办通知, 临期提醒, 催办通知, 督办通知, 预警.
//!
//! Renderers are pure: they take plain structs filled by the caller (deadlines already
//! formatted in China time, the working-day explanation already worded), so this module
//! knows nothing of tickets, calendars or time zones. Empty optional facts are shown as
//! "未提供" rather than left blank, so a reader can tell "unknown" from a rendering fault.

use std::fmt::Write as _;

/// One email ready for the outbox: plain UTF-8 text, sent as one message to every
/// recipient in `to`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// The facts of a ticket every union-facing email repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketFacts {
    /// e.g. `GD20261123000123`
    pub ticket_number: String,
    /// The topic in Chinese, e.g. `拖欠工资`.
    pub topic: String,
    pub employer_name: String,
    /// Where the employer is or the matter happened, e.g. `广州市越秀区`.
    pub region_name: String,
    /// One or two sentences on what the worker asks for.
    pub summary: String,
}

/// How pressing a work order is; decides the subject prefix and the wording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    #[default]
    Normal,
    /// 群体诉求: a group of workers.
    Collective,
    /// 紧急: threats of self-harm or "extreme ways".
    Urgent,
}

impl Priority {
    fn label(self) -> &'static str {
        match self {
            Self::Normal => "一般",
            Self::Collective => "群体诉求（优先办理）",
            Self::Urgent => "紧急（立即办理）",
        }
    }

    fn subject_tag(self) -> &'static str {
        match self {
            Self::Normal => "",
            Self::Collective => "【群体】",
            Self::Urgent => "【紧急】",
        }
    }
}

/// Which clock a reminder, urge or escalation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineKind {
    /// 签收
    SignFor,
    /// 办理回复
    Reply,
    /// 审核 (the province's own review of a reply)
    Review,
    /// 回访
    Callback,
}

impl DeadlineKind {
    /// The Chinese name of the step, as it appears in "…期限".
    pub fn chinese(self) -> &'static str {
        match self {
            Self::SignFor => "签收",
            Self::Reply => "办理回复",
            Self::Review => "审核",
            Self::Callback => "回访",
        }
    }
}

/// 交办通知: a work order dispatched to a handling union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchNotice {
    pub to: Vec<String>,
    /// The handling union, used as the salutation, e.g. `广州市越秀区总工会`.
    pub union_name: String,
    pub ticket: TicketFacts,
    pub priority: Priority,
    /// e.g. `2026年11月24日 18:00`
    pub sign_deadline: String,
    pub reply_deadline: String,
    /// How the deadlines were counted, e.g. `按工作日计算，已扣除周末及法定节假日`.
    pub working_day_note: String,
    /// The signature line, e.g. `广东省12351职工服务热线`.
    pub hotline_name: String,
}

/// 临期提醒: a deadline is near.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineReminder {
    pub to: Vec<String>,
    pub union_name: String,
    pub ticket: TicketFacts,
    pub deadline_kind: DeadlineKind,
    pub deadline: String,
    /// e.g. `剩余1个工作日`
    pub time_left: String,
    pub hotline_name: String,
}

/// 催办通知: a deadline has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrgeNotice {
    pub to: Vec<String>,
    pub union_name: String,
    pub ticket: TicketFacts,
    pub deadline_kind: DeadlineKind,
    pub deadline: String,
    /// e.g. `已超期1个工作日`
    pub overdue_by: String,
    /// 1 for the first urge; shown as 第N次催办.
    pub urge_number: u32,
    pub hotline_name: String,
}

/// 督办通知: an overdue work order escalated to the supervisor or leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationNotice {
    pub to: Vec<String>,
    /// The supervisor or leader addressed, e.g. `广州市总工会权益保障部`.
    pub supervisor_name: String,
    /// The union that has not acted.
    pub union_name: String,
    pub ticket: TicketFacts,
    pub deadline_kind: DeadlineKind,
    pub deadline: String,
    pub overdue_by: String,
    /// How many urges went out before this escalation.
    pub urges_sent: u32,
    pub hotline_name: String,
}

/// Several tickets about one employer inside the warning window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployerCluster {
    pub employer_name: String,
    /// The 18-character 统一社会信用代码, when known.
    pub uscc: Option<String>,
    pub region_name: String,
    pub window_days: u32,
    pub ticket_numbers: Vec<String>,
    /// The topics seen, e.g. `拖欠工资、解除劳动合同`.
    pub topics: String,
}

/// Why an early warning was raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarningCause {
    /// ≥ N tickets about one employer within the window (default 5 in 7 days).
    EmployerCluster(EmployerCluster),
    /// A collective (群体) ticket.
    Collective {
        ticket: TicketFacts,
        workers_involved: Option<u32>,
    },
    /// An urgent (极端/紧急) ticket.
    Urgent { ticket: TicketFacts },
}

/// 预警: sent to supervisors at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlyWarning {
    pub to: Vec<String>,
    pub cause: WarningCause,
    /// When it was raised, e.g. `2026年11月23日 09:30`.
    pub raised_at: String,
    pub hotline_name: String,
}

fn shown(value: &str) -> &str {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        "未提供"
    } else {
        trimmed
    }
}

/// Writes one `标签：值` line; writing to a String cannot fail.
fn field(body: &mut String, label: &str, value: &str) {
    let _ = writeln!(body, "{label}：{}", shown(value));
}

fn ticket_fields(body: &mut String, ticket: &TicketFacts) {
    field(body, "工单编号", &ticket.ticket_number);
    field(body, "诉求类别", &ticket.topic);
    field(body, "涉及单位", &ticket.employer_name);
    field(body, "所在地区", &ticket.region_name);
    field(body, "诉求摘要", &ticket.summary);
}

fn signature(body: &mut String, hotline_name: &str) {
    let _ = write!(body, "\n{}\n", shown(hotline_name));
    body.push_str("（本邮件由12351工单系统自动发送，请勿直接回复）\n");
}

/// 交办通知
pub fn render_dispatch(notice: &DispatchNotice) -> Email {
    let ticket = &notice.ticket;
    let subject = format!(
        "{}【交办通知】12351工单{}：{}（{}）",
        notice.priority.subject_tag(),
        ticket.ticket_number.trim(),
        shown(&ticket.topic),
        shown(&ticket.employer_name),
    );
    let mut body = format!("{}：\n\n", shown(&notice.union_name));
    body.push_str(
        "　　现将12351职工服务热线受理的职工诉求交你单位办理。请在签收期限内签收，\
         在回复期限内办结并回复办理结果。\n\n",
    );
    ticket_fields(&mut body, ticket);
    field(&mut body, "紧急程度", notice.priority.label());
    field(
        &mut body,
        "签收期限",
        &format!("{}前", shown(&notice.sign_deadline)),
    );
    field(
        &mut body,
        "回复期限",
        &format!("{}前", shown(&notice.reply_deadline)),
    );
    field(&mut body, "期限说明", &notice.working_day_note);
    body.push_str(
        "\n　　请登录12351工单系统签收办理。如该诉求不属于你单位管辖，\
         请在签收期限内退回并写明理由；如需延期，请在回复期限届满前提出申请。\n",
    );
    signature(&mut body, &notice.hotline_name);
    Email {
        to: notice.to.clone(),
        subject,
        body,
    }
}

/// 临期提醒
pub fn render_reminder(reminder: &DeadlineReminder) -> Email {
    let ticket = &reminder.ticket;
    let step = reminder.deadline_kind.chinese();
    let subject = format!(
        "【临期提醒】12351工单{}{}期限将于{}到期",
        ticket.ticket_number.trim(),
        step,
        shown(&reminder.deadline),
    );
    let mut body = format!("{}：\n\n", shown(&reminder.union_name));
    let _ = writeln!(
        body,
        "　　你单位承办的以下工单{step}期限即将届满（{}），请抓紧办理，按期{step}。\n",
        shown(&reminder.time_left),
    );
    ticket_fields(&mut body, ticket);
    field(&mut body, &format!("{step}期限"), &reminder.deadline);
    signature(&mut body, &reminder.hotline_name);
    Email {
        to: reminder.to.clone(),
        subject,
        body,
    }
}

/// 催办通知
pub fn render_urge(urge: &UrgeNotice) -> Email {
    let ticket = &urge.ticket;
    let step = urge.deadline_kind.chinese();
    let subject = format!(
        "【催办通知】12351工单{}已超过{}期限（第{}次催办）",
        ticket.ticket_number.trim(),
        step,
        urge.urge_number.max(1),
    );
    let mut body = format!("{}：\n\n", shown(&urge.union_name));
    let _ = writeln!(
        body,
        "　　你单位承办的以下工单已超过{step}期限（{}），现予第{}次催办。\
         请立即办理并在系统中{step}；逾期仍未办理的，将报送上级督办。\n",
        shown(&urge.overdue_by),
        urge.urge_number.max(1),
    );
    ticket_fields(&mut body, ticket);
    field(&mut body, &format!("{step}期限"), &urge.deadline);
    signature(&mut body, &urge.hotline_name);
    Email {
        to: urge.to.clone(),
        subject,
        body,
    }
}

/// 督办通知
pub fn render_escalation(escalation: &EscalationNotice) -> Email {
    let ticket = &escalation.ticket;
    let step = escalation.deadline_kind.chinese();
    let subject = format!(
        "【督办通知】12351工单{}逾期未{}（承办单位：{}）",
        ticket.ticket_number.trim(),
        step,
        shown(&escalation.union_name),
    );
    let mut body = format!("{}：\n\n", shown(&escalation.supervisor_name));
    let _ = writeln!(
        body,
        "　　{}承办的以下工单已超过{step}期限（{}），已催办{}次仍未办理，\
         现报请督办，请督促承办单位限期办理并反馈。\n",
        shown(&escalation.union_name),
        shown(&escalation.overdue_by),
        escalation.urges_sent,
    );
    ticket_fields(&mut body, ticket);
    field(&mut body, "承办单位", &escalation.union_name);
    field(&mut body, &format!("{step}期限"), &escalation.deadline);
    signature(&mut body, &escalation.hotline_name);
    Email {
        to: escalation.to.clone(),
        subject,
        body,
    }
}

/// 预警
pub fn render_early_warning(warning: &EarlyWarning) -> Email {
    let mut body = String::from("各位领导：\n\n");
    let subject = match &warning.cause {
        WarningCause::EmployerCluster(cluster) => {
            let count = cluster.ticket_numbers.len();
            let _ = writeln!(
                body,
                "　　{}日内共有{count}件职工诉求涉及同一用人单位，可能引发群体性事件，请及时关注、\
                 提前介入。\n",
                cluster.window_days,
            );
            field(&mut body, "用人单位", &cluster.employer_name);
            field(
                &mut body,
                "统一社会信用代码",
                cluster.uscc.as_deref().unwrap_or(""),
            );
            field(&mut body, "所在地区", &cluster.region_name);
            field(&mut body, "诉求类别", &cluster.topics);
            field(&mut body, "相关工单", &cluster.ticket_numbers.join("、"));
            format!(
                "【预警】{}：{}日内{count}件职工诉求",
                shown(&cluster.employer_name),
                cluster.window_days,
            )
        }
        WarningCause::Collective {
            ticket,
            workers_involved,
        } => {
            body.push_str("　　热线受理一件群体诉求，请及时关注、提前介入，防止矛盾激化。\n\n");
            ticket_fields(&mut body, ticket);
            let workers = workers_involved
                .map(|n| format!("{n}人"))
                .unwrap_or_default();
            field(&mut body, "涉及人数", &workers);
            format!(
                "【预警】群体诉求：12351工单{}（{}）",
                ticket.ticket_number.trim(),
                shown(&ticket.employer_name),
            )
        }
        WarningCause::Urgent { ticket } => {
            body.push_str(
                "　　热线受理一件紧急诉求（职工有极端言行风险），请立即协调处置并反馈。\n\n",
            );
            ticket_fields(&mut body, ticket);
            format!(
                "【预警】紧急诉求：12351工单{}（{}）",
                ticket.ticket_number.trim(),
                shown(&ticket.employer_name),
            )
        }
    };
    field(&mut body, "预警时间", &warning.raised_at);
    signature(&mut body, &warning.hotline_name);
    Email {
        to: warning.to.clone(),
        subject,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketFacts {
        TicketFacts {
            ticket_number: "GD20261123000123".into(),
            topic: "拖欠工资".into(),
            employer_name: "广州某某超市有限公司".into(),
            region_name: "广州市越秀区".into(),
            summary: "12名职工反映10月工资未发放".into(),
        }
    }

    #[test]
    fn dispatch_names_deadlines_and_the_working_day_note() {
        let email = render_dispatch(&DispatchNotice {
            to: vec!["yuexiu@gzftu.cn".into()],
            union_name: "广州市越秀区总工会".into(),
            ticket: ticket(),
            priority: Priority::Urgent,
            sign_deadline: "2026年11月23日 11:30".into(),
            reply_deadline: "2026年11月24日 18:00".into(),
            working_day_note: "按工作日计算，已扣除周末及法定节假日".into(),
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert_eq!(
            email.subject,
            "【紧急】【交办通知】12351工单GD20261123000123：拖欠工资（广州某某超市有限公司）"
        );
        assert!(email.body.starts_with("广州市越秀区总工会：\n"));
        assert!(email.body.contains("签收期限：2026年11月23日 11:30前\n"));
        assert!(email.body.contains("回复期限：2026年11月24日 18:00前\n"));
        assert!(email.body.contains("期限说明：按工作日计算"));
        assert!(email.body.contains("紧急程度：紧急（立即办理）"));
    }

    #[test]
    fn unknown_facts_read_as_not_provided() {
        let mut facts = ticket();
        facts.employer_name = "  ".into();
        let email = render_reminder(&DeadlineReminder {
            to: vec!["a@b.cn".into()],
            union_name: "天河区总工会".into(),
            ticket: facts,
            deadline_kind: DeadlineKind::Reply,
            deadline: "2026年12月1日 18:00".into(),
            time_left: "剩余1个工作日".into(),
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert!(email.body.contains("涉及单位：未提供\n"), "{}", email.body);
        assert!(
            email
                .subject
                .contains("办理回复期限将于2026年12月1日 18:00到期")
        );
    }

    #[test]
    fn urge_and_escalation_count_what_was_done() {
        let urge = render_urge(&UrgeNotice {
            to: vec!["a@b.cn".into()],
            union_name: "天河区总工会".into(),
            ticket: ticket(),
            deadline_kind: DeadlineKind::SignFor,
            deadline: "2026年11月24日 18:00".into(),
            overdue_by: "已超期1个工作日".into(),
            urge_number: 2,
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert!(urge.subject.contains("已超过签收期限（第2次催办）"));
        let escalation = render_escalation(&EscalationNotice {
            to: vec!["boss@gzftu.cn".into()],
            supervisor_name: "广州市总工会权益保障部".into(),
            union_name: "天河区总工会".into(),
            ticket: ticket(),
            deadline_kind: DeadlineKind::Reply,
            deadline: "2026年11月24日 18:00".into(),
            overdue_by: "已超期3个工作日".into(),
            urges_sent: 2,
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert!(escalation.subject.starts_with("【督办通知】"));
        assert!(escalation.body.contains("已催办2次仍未办理"));
    }

    #[test]
    fn early_warning_lists_the_cluster() {
        let email = render_early_warning(&EarlyWarning {
            to: vec!["leader@gdftu.cn".into()],
            cause: WarningCause::EmployerCluster(EmployerCluster {
                employer_name: "某连锁超市".into(),
                uscc: Some("91440101MA5XXXXXX1".into()),
                region_name: "广州市".into(),
                window_days: 7,
                ticket_numbers: (1..=5).map(|n| format!("GD2026112300000{n}")).collect(),
                topics: "拖欠工资、解除劳动合同".into(),
            }),
            raised_at: "2026年11月23日 09:30".into(),
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert_eq!(email.subject, "【预警】某连锁超市：7日内5件职工诉求");
        assert!(email.body.contains("GD20261123000001、GD20261123000002"));
        let urgent = render_early_warning(&EarlyWarning {
            to: vec!["leader@gdftu.cn".into()],
            cause: WarningCause::Urgent { ticket: ticket() },
            raised_at: "2026年11月23日 09:30".into(),
            hotline_name: "广东省12351职工服务热线".into(),
        });
        assert!(urgent.subject.starts_with("【预警】紧急诉求"));
    }
}
