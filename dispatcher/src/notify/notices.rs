//! The five 告知书 (written notices to the worker), rendered as formal Chinese letters.
//!
//! Dates are written with Arabic numerals, year, month and day in full and without
//! leading zeros (`2026年11月3日`), as GB/T 9704-2012 (党政机关公文格式, §7.3.5.4) requires
//! for the date of an official document since 2012; it also survives every mail client
//! and font, where `二〇二六年` mixes a circle that some fonts draw as a letter O.
//!
//! The renderer refuses, naming the field, when a fact the kind needs is empty: a notice
//! is a formal letter to a worker and must never go out with a gap.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::messages::Email;

/// Which 告知书.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 办理情况告知书: the outcome after the handling union replied.
    Outcome,
    /// 不予受理告知书: not accepted, with the lawful channel to use instead.
    NotAccepted,
    /// 不予重复受理告知书: the same matter as an earlier ticket.
    Duplicate,
    /// 不再受理告知书: no longer accepted after the final review.
    NoLongerAccepted,
    /// 转送情况告知书: forwarded to another competent body.
    Forwarded,
}

impl NoticeKind {
    pub const ALL: [Self; 5] = [
        Self::Outcome,
        Self::NotAccepted,
        Self::Duplicate,
        Self::NoLongerAccepted,
        Self::Forwarded,
    ];

    /// The stable code name stored with the ticket (`not_accepted`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::Outcome => "outcome",
            Self::NotAccepted => "not_accepted",
            Self::Duplicate => "duplicate",
            Self::NoLongerAccepted => "no_longer_accepted",
            Self::Forwarded => "forwarded",
        }
    }

    /// The Chinese title printed at the head of the letter.
    pub fn title(self) -> &'static str {
        match self {
            Self::Outcome => "办理情况告知书",
            Self::NotAccepted => "不予受理告知书",
            Self::Duplicate => "不予重复受理告知书",
            Self::NoLongerAccepted => "不再受理告知书",
            Self::Forwarded => "转送情况告知书",
        }
    }
}

/// What each kind of notice says beyond the common facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeDetails {
    Outcome {
        /// The union that handled it, e.g. `广州市越秀区总工会`.
        handling_union: String,
        /// e.g. `已解决`, `部分解决`, `未解决`, `已解释说明`.
        outcome: String,
        /// What was done and found, in full sentences.
        result: String,
    },
    NotAccepted {
        /// Why the hotline does not accept it.
        reason: String,
        /// Where the worker should go instead, e.g. `向广州市越秀区劳动人事争议仲裁委员会申请仲裁`.
        lawful_channel: String,
    },
    Duplicate {
        earlier_ticket_number: String,
        /// Optional: where the earlier ticket stands, e.g. `正在办理中` or `已于2026年10月9日办结`.
        earlier_status: String,
    },
    NoLongerAccepted {
        /// The review that ended the matter, e.g. `该事项已于2026年9月1日经广东省总工会复核并作出复核意见`.
        final_review_basis: String,
    },
    Forwarded {
        /// The body it was forwarded to, e.g. `广州市越秀区人力资源和社会保障局`.
        forwarded_to: String,
        /// Optional: why that body is competent.
        reason: String,
    },
}

impl NoticeDetails {
    pub fn kind(&self) -> NoticeKind {
        match self {
            Self::Outcome { .. } => NoticeKind::Outcome,
            Self::NotAccepted { .. } => NoticeKind::NotAccepted,
            Self::Duplicate { .. } => NoticeKind::Duplicate,
            Self::NoLongerAccepted { .. } => NoticeKind::NoLongerAccepted,
            Self::Forwarded { .. } => NoticeKind::Forwarded,
        }
    }
}

/// Everything a notice is rendered from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeRequest {
    pub worker_name: String,
    pub ticket_number: String,
    /// The day the hotline received the matter.
    pub received_on: NaiveDate,
    /// What the worker raised, one short phrase, e.g. `某超市拖欠2026年10月工资`.
    pub matter_summary: String,
    /// The signature, e.g. `广东省总工会12351职工服务热线`.
    pub issuer_name: String,
    pub issued_on: NaiveDate,
    pub details: NoticeDetails,
}

/// A rendered notice, as it is stored with the ticket and sent to the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedNotice {
    pub kind: NoticeKind,
    pub ticket_number: String,
    pub issued_on: NaiveDate,
    pub title: String,
    /// The whole letter, title to date, as plain text.
    pub text: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("{kind_title}: required field `{field}` is empty", kind_title = kind.title())]
    MissingField {
        kind: NoticeKind,
        field: &'static str,
    },
    #[error("{kind_title}: issued_on {issued_on} is before received_on {received_on}", kind_title = kind.title())]
    IssuedBeforeReceived {
        kind: NoticeKind,
        received_on: NaiveDate,
        issued_on: NaiveDate,
    },
}

/// `2026年11月3日`: Arabic numerals, no leading zeros (GB/T 9704-2012).
pub fn chinese_date(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// Text that the letter wraps in its own punctuation, without the caller's final stop.
fn clause(text: &str) -> &str {
    text.trim()
        .trim_end_matches(['。', '；', '，', '.', ';', ',', '！'])
        .trim_end()
}

fn required<'a>(
    kind: NoticeKind,
    field: &'static str,
    value: &'a str,
) -> Result<&'a str, NoticeError> {
    let value = clause(value);
    if value.is_empty() {
        Err(NoticeError::MissingField { kind, field })
    } else {
        Ok(value)
    }
}

/// Indent that roughly centres a title in a plain-text letter of ~36 columns.
const TITLE_INDENT: &str = "　　　　　　　　";
/// Indent that pushes the signature and date to the right, as on paper.
const SIGNATURE_INDENT: &str = "　　　　　　　　　　　　　　　　";
/// The first-line indent of a Chinese paragraph: two full-width spaces.
const PARAGRAPH: &str = "　　";

/// Renders a notice, or names the first empty field the kind needs.
pub fn render_notice(request: &NoticeRequest) -> Result<RenderedNotice, NoticeError> {
    let kind = request.details.kind();
    let worker = required(kind, "worker_name", &request.worker_name)?;
    let ticket_number = required(kind, "ticket_number", &request.ticket_number)?;
    let summary = required(kind, "matter_summary", &request.matter_summary)?;
    let issuer = required(kind, "issuer_name", &request.issuer_name)?;
    if request.issued_on < request.received_on {
        return Err(NoticeError::IssuedBeforeReceived {
            kind,
            received_on: request.received_on,
            issued_on: request.issued_on,
        });
    }
    let received = chinese_date(request.received_on);
    let issued = chinese_date(request.issued_on);
    let opening = format!(
        "{PARAGRAPH}你于{received}通过12351职工服务热线反映的“{summary}”问题（工单编号：{ticket_number}）"
    );

    let mut paragraphs: Vec<String> = Vec::new();
    match &request.details {
        NoticeDetails::Outcome {
            handling_union,
            outcome,
            result,
        } => {
            let union = required(kind, "handling_union", handling_union)?;
            let outcome = required(kind, "outcome", outcome)?;
            let result = required(kind, "result", result)?;
            paragraphs.push(format!(
                "{opening}，已交由{union}办理。现将办理情况告知如下："
            ));
            paragraphs.push(format!("{PARAGRAPH}办理结果：{outcome}。"));
            paragraphs.push(format!("{PARAGRAPH}{result}。"));
            paragraphs.push(format!(
                "{PARAGRAPH}如对办理情况有疑问，可拨打12351职工服务热线咨询。"
            ));
        }
        NoticeDetails::NotAccepted {
            reason,
            lawful_channel,
        } => {
            let reason = required(kind, "reason", reason)?;
            let channel = required(kind, "lawful_channel", lawful_channel)?;
            paragraphs.push(format!(
                "{opening}已收悉。经审查，{reason}，不属于本热线受理范围，决定不予受理。"
            ));
            paragraphs.push(format!(
                "{PARAGRAPH}根据有关法律法规，你可以{channel}，依法维护自身合法权益。"
            ));
        }
        NoticeDetails::Duplicate {
            earlier_ticket_number,
            earlier_status,
        } => {
            let earlier = required(kind, "earlier_ticket_number", earlier_ticket_number)?;
            let status = clause(earlier_status);
            let status_clause = if status.is_empty() {
                String::new()
            } else {
                format!("，该事项{status}")
            };
            paragraphs.push(format!(
                "{opening}已收悉。经核查，该诉求与你此前反映的工单编号为{earlier}的事项属同一事项\
                 {status_clause}。根据有关规定，对同一事项不予重复受理。"
            ));
            paragraphs.push(format!(
                "{PARAGRAPH}你可凭工单编号{earlier}拨打12351职工服务热线查询该事项的办理进展。"
            ));
        }
        NoticeDetails::NoLongerAccepted { final_review_basis } => {
            let basis = required(kind, "final_review_basis", final_review_basis)?;
            paragraphs.push(format!("{opening}已收悉。经核查，{basis}。"));
            paragraphs.push(format!(
                "{PARAGRAPH}依照《信访工作条例》第三十六条的规定，你对复核意见不服，\
                 仍以同一事实和理由提出的诉求，不再受理。"
            ));
        }
        NoticeDetails::Forwarded {
            forwarded_to,
            reason,
        } => {
            let body = required(kind, "forwarded_to", forwarded_to)?;
            let reason = clause(reason);
            let reason_clause = if reason.is_empty() {
                format!("该事项属于{body}的职责范围")
            } else {
                reason.to_owned()
            };
            paragraphs.push(format!(
                "{opening}已收悉。经审查，{reason_clause}，本热线已于{issued}将该事项转送{body}办理。"
            ));
            paragraphs.push(format!("{PARAGRAPH}请你与{body}联系，了解办理情况。"));
        }
    }
    paragraphs.push(format!("{PARAGRAPH}特此告知。"));

    let title = kind.title();
    let mut text = String::new();
    let _ = writeln!(text, "{TITLE_INDENT}{title}\n");
    let _ = writeln!(text, "{worker}：");
    for paragraph in &paragraphs {
        let _ = writeln!(text, "{paragraph}");
    }
    let _ = writeln!(text, "\n{SIGNATURE_INDENT}{issuer}");
    let _ = writeln!(text, "{SIGNATURE_INDENT}{issued}");

    Ok(RenderedNotice {
        kind,
        ticket_number: ticket_number.to_owned(),
        issued_on: request.issued_on,
        title: title.to_owned(),
        text,
    })
}

/// The email carrying a notice to the worker who gave an address.
pub fn notice_email(notice: &RenderedNotice, worker_email: &str) -> Email {
    Email {
        to: vec![worker_email.trim().to_owned()],
        subject: format!("{}（12351工单{}）", notice.title, notice.ticket_number),
        body: notice.text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
    }

    fn request(details: NoticeDetails) -> NoticeRequest {
        NoticeRequest {
            worker_name: "张三".into(),
            ticket_number: "GD20261120000042".into(),
            received_on: date(2026, 11, 3),
            matter_summary: "某超市拖欠2026年10月工资".into(),
            issuer_name: "广东省总工会12351职工服务热线".into(),
            issued_on: date(2026, 11, 23),
            details,
        }
    }

    fn sample_details(kind: NoticeKind) -> NoticeDetails {
        match kind {
            NoticeKind::Outcome => NoticeDetails::Outcome {
                handling_union: "广州市越秀区总工会".into(),
                outcome: "已解决".into(),
                result: "经协调，用人单位已于2026年11月20日补发工资8600元。".into(),
            },
            NoticeKind::NotAccepted => NoticeDetails::NotAccepted {
                reason: "该诉求属于劳动争议，应通过仲裁程序解决".into(),
                lawful_channel: "向广州市越秀区劳动人事争议仲裁委员会申请仲裁".into(),
            },
            NoticeKind::Duplicate => NoticeDetails::Duplicate {
                earlier_ticket_number: "GD20261015000007".into(),
                earlier_status: "正在办理中".into(),
            },
            NoticeKind::NoLongerAccepted => NoticeDetails::NoLongerAccepted {
                final_review_basis: "该事项已于2026年9月1日经广东省总工会复核并作出复核意见".into(),
            },
            NoticeKind::Forwarded => NoticeDetails::Forwarded {
                forwarded_to: "广州市越秀区人力资源和社会保障局".into(),
                reason: String::new(),
            },
        }
    }

    #[test]
    fn dates_are_written_in_full_without_leading_zeros() {
        assert_eq!(chinese_date(date(2026, 11, 3)), "2026年11月3日");
        assert_eq!(chinese_date(date(2027, 1, 1)), "2027年1月1日");
    }

    #[test]
    fn every_kind_renders_a_formal_letter() {
        for kind in NoticeKind::ALL {
            let notice = render_notice(&request(sample_details(kind))).expect("renders");
            assert_eq!(notice.kind, kind);
            assert_eq!(notice.title, kind.title());
            let lines: Vec<&str> = notice.text.lines().collect();
            assert_eq!(lines[0].trim_start_matches('　'), kind.title());
            assert_eq!(lines[2], "张三：");
            assert!(
                notice
                    .text
                    .contains("你于2026年11月3日通过12351职工服务热线反映的")
            );
            assert!(notice.text.contains("（工单编号：GD20261120000042）"));
            assert!(notice.text.contains("特此告知。"));
            assert!(!notice.text.contains("。。"), "{}", notice.text);
            assert_eq!(
                lines.last().map(|l| l.trim_start_matches('　')),
                Some("2026年11月23日")
            );
        }
    }

    #[test]
    fn kind_specific_facts_appear() {
        let text = |kind| {
            render_notice(&request(sample_details(kind)))
                .expect("renders")
                .text
        };
        assert!(
            text(NoticeKind::NotAccepted)
                .contains("你可以向广州市越秀区劳动人事争议仲裁委员会申请仲裁")
        );
        assert!(
            text(NoticeKind::Duplicate)
                .contains("工单编号为GD20261015000007的事项属同一事项，该事项正在办理中。")
        );
        assert!(
            text(NoticeKind::Forwarded)
                .contains("已于2026年11月23日将该事项转送广州市越秀区人力资源和社会保障局办理")
        );
        assert!(text(NoticeKind::Outcome).contains("办理结果：已解决。"));
        assert!(text(NoticeKind::NoLongerAccepted).contains("不再受理"));
    }

    #[test]
    fn an_empty_required_field_is_named() {
        let mut missing_channel = request(sample_details(NoticeKind::NotAccepted));
        missing_channel.details = NoticeDetails::NotAccepted {
            reason: "属于劳动争议".into(),
            lawful_channel: " 。".into(),
        };
        assert_eq!(
            render_notice(&missing_channel),
            Err(NoticeError::MissingField {
                kind: NoticeKind::NotAccepted,
                field: "lawful_channel"
            })
        );
        let mut no_name = request(sample_details(NoticeKind::Forwarded));
        no_name.worker_name = String::new();
        let error = render_notice(&no_name).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "转送情况告知书: required field `worker_name` is empty"
        );
        let mut early = request(sample_details(NoticeKind::Outcome));
        early.issued_on = date(2026, 11, 1);
        assert!(matches!(
            render_notice(&early),
            Err(NoticeError::IssuedBeforeReceived { .. })
        ));
    }

    #[test]
    fn the_email_carries_the_letter() {
        let notice = render_notice(&request(sample_details(NoticeKind::Outcome))).expect("renders");
        let email = notice_email(&notice, " zhangsan@example.cn ");
        assert_eq!(email.to, vec!["zhangsan@example.cn".to_owned()]);
        assert_eq!(email.subject, "办理情况告知书（12351工单GD20261120000042）");
        assert_eq!(email.body, notice.text);
    }
}
