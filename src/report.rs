//! Reports a practice manager would rather look at than read: how the community is doing and how
//! Bedside's rules are doing, over a period.
//!
//! [`build`] is pure: it takes [`ReportData`] (read from the store by the shell) and the time, and
//! computes the figures: staff and patient posts, flags by label and by rule, the dismissal rate per
//! rule (the signal for tuning), the median time to fix by edit, feedback by kind and how much got a
//! public acknowledgement, stale channels, and a weekly series. Rendering is separate: Markdown,
//! one self-contained HTML file with an inline SVG chart, or JSON.

use std::collections::BTreeMap;

use serde::Serialize;

/// One flag, as the report needs it.
#[derive(Clone, Debug)]
pub struct FlagRow {
    pub created_at: u64,
    pub labels: Vec<String>,
    pub rules: Vec<String>,
    pub status: String,
    pub resolved_at: Option<u64>,
}

/// One piece of feedback.
#[derive(Clone, Debug)]
pub struct FeedbackRow {
    pub created_at: u64,
    pub kind: String,
    pub replied: bool,
}

/// Everything the report is built from, for the period asked.
#[derive(Clone, Debug, Default)]
pub struct ReportData {
    pub since: u64,
    pub staff_posts: u64,
    pub patient_posts: u64,
    pub flags: Vec<FlagRow>,
    /// Dismissed flags, per rule.
    pub dismissals: BTreeMap<String, u64>,
    pub feedback: Vec<FeedbackRow>,
    /// Watched channels and their last staff post (seconds since the epoch), if any.
    pub channels: Vec<(u64, Option<u64>)>,
    /// A channel is stale after this many seconds without a staff post.
    pub stale_after: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleLine {
    pub rule: String,
    pub flags: u64,
    pub dismissed: u64,
    /// Dismissed ÷ flagged: high means the rule annoys more than it helps.
    pub dismissal_rate: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Week {
    /// The week's first day, `YYYY-MM-DD`.
    pub starts: String,
    pub flags: u64,
    pub feedback: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub staff_posts: u64,
    pub patient_posts: u64,
    pub flags: u64,
    pub flags_by_label: BTreeMap<String, u64>,
    pub rules: Vec<RuleLine>,
    /// Median time from flag to fix by edit, in minutes, when any flag was fixed that way.
    pub median_minutes_to_fix: Option<f64>,
    pub fixed_by_edit: u64,
    pub feedback_by_kind: BTreeMap<String, u64>,
    pub acknowledged_by_kind: BTreeMap<String, u64>,
    pub stale_channels: Vec<StaleChannel>,
    pub weeks: Vec<Week>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StaleChannel {
    pub channel: u64,
    /// Days without a staff post (`None`: none seen).
    pub quiet_days: Option<u64>,
}

const DAY: u64 = 86_400;
const WEEK: u64 = 7 * DAY;

/// `YYYY-MM-DD` of a Unix time (UTC), without a date library: civil-from-days.
pub fn date(unix: u64) -> String {
    let days = (unix / DAY) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `30d`, `12w`, `48h` into seconds.
pub fn parse_since(s: &str) -> Option<u64> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    let unit = match unit {
        "h" => 3600,
        "d" => DAY,
        "w" => WEEK,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Computes the report for `data.since ..= now`.
pub fn build(data: &ReportData, now: u64) -> Report {
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut fix_minutes: Vec<f64> = Vec::new();
    for f in &data.flags {
        for l in &f.labels {
            *by_label.entry(l.clone()).or_default() += 1;
        }
        // A flag counts once per rule, however its rules were listed.
        for r in f.rules.iter().collect::<std::collections::BTreeSet<_>>() {
            *by_rule.entry(r.clone()).or_default() += 1;
        }
        if let (Some(resolved), "resolved_by_edit") = (f.resolved_at, f.status.as_str()) {
            fix_minutes.push(resolved.saturating_sub(f.created_at) as f64 / 60.0);
        }
    }
    let mut rules: Vec<RuleLine> = by_rule
        .into_iter()
        .map(|(rule, flags)| {
            let dismissed = data.dismissals.get(&rule).copied().unwrap_or(0);
            RuleLine {
                dismissal_rate: if flags == 0 { 0.0 } else { dismissed as f64 / flags as f64 },
                rule,
                flags,
                dismissed,
            }
        })
        .collect();
    rules.sort_by(|a, b| b.flags.cmp(&a.flags).then(a.rule.cmp(&b.rule)));

    let mut feedback_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut acknowledged_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for f in &data.feedback {
        *feedback_by_kind.entry(f.kind.clone()).or_default() += 1;
        if f.replied {
            *acknowledged_by_kind.entry(f.kind.clone()).or_default() += 1;
        }
    }

    let stale_channels = data
        .channels
        .iter()
        .filter(|(_, last)| last.is_none_or(|t| now.saturating_sub(t) >= data.stale_after))
        .map(|(channel, last)| StaleChannel {
            channel: *channel,
            quiet_days: last.map(|t| now.saturating_sub(t) / DAY),
        })
        .collect();

    // Weeks start on the first day of the period.
    let first = data.since - data.since % DAY;
    let count = (now.saturating_sub(first) / WEEK + 1).min(520);
    let mut weeks: Vec<Week> =
        (0..count).map(|i| Week { starts: date(first + i * WEEK), flags: 0, feedback: 0 }).collect();
    let week_of = |t: u64| (t.saturating_sub(first) / WEEK) as usize;
    for f in &data.flags {
        if let Some(w) = weeks.get_mut(week_of(f.created_at)) {
            w.flags += 1;
        }
    }
    for f in &data.feedback {
        if let Some(w) = weeks.get_mut(week_of(f.created_at)) {
            w.feedback += 1;
        }
    }

    Report {
        from: date(data.since),
        to: date(now),
        staff_posts: data.staff_posts,
        patient_posts: data.patient_posts,
        flags: data.flags.len() as u64,
        flags_by_label: by_label,
        rules,
        fixed_by_edit: fix_minutes.len() as u64,
        median_minutes_to_fix: median(&mut fix_minutes),
        feedback_by_kind,
        acknowledged_by_kind,
        stale_channels,
        weeks,
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

impl Report {
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Bedside report, {} to {}\n\n", self.from, self.to);
        out.push_str(&format!(
            "- Staff posts: **{}** · patient posts: **{}**\n- Flags: **{}**",
            self.staff_posts, self.patient_posts, self.flags
        ));
        if self.flags > 0 {
            let labels: Vec<String> = self.flags_by_label.iter().map(|(l, n)| format!("{l} {n}")).collect();
            out.push_str(&format!(" ({})", labels.join(", ")));
        }
        out.push('\n');
        match self.median_minutes_to_fix {
            Some(m) => out.push_str(&format!("- Fixed by edit: {} (median {:.0} min to fix)\n", self.fixed_by_edit, m)),
            None => out.push_str("- Fixed by edit: none\n"),
        }
        let fb: u64 = self.feedback_by_kind.values().sum();
        out.push_str(&format!("- Patient feedback: **{fb}**"));
        if fb > 0 {
            let kinds: Vec<String> = self
                .feedback_by_kind
                .iter()
                .map(|(k, n)| {
                    format!("{k} {n} ({} acknowledged)", self.acknowledged_by_kind.get(k).copied().unwrap_or(0))
                })
                .collect();
            out.push_str(&format!(": {}", kinds.join(", ")));
        }
        out.push('\n');
        if !self.rules.is_empty() {
            out.push_str("\n## Rules\n\n| rule | flags | dismissed | dismissal rate |\n|---|---:|---:|---:|\n");
            for r in &self.rules {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {:.0}% |\n",
                    r.rule,
                    r.flags,
                    r.dismissed,
                    r.dismissal_rate * 100.0
                ));
            }
        }
        if !self.stale_channels.is_empty() {
            out.push_str("\n## Quiet channels\n\n");
            for c in &self.stale_channels {
                match c.quiet_days {
                    Some(d) => out.push_str(&format!("- <#{}>: no staff post for {d} days\n", c.channel)),
                    None => out.push_str(&format!("- <#{}>: no staff post seen\n", c.channel)),
                }
            }
        }
        out.push_str("\n## Per week\n\n| week of | flags | feedback |\n|---|---:|---:|\n");
        for w in &self.weeks {
            out.push_str(&format!("| {} | {} | {} |\n", w.starts, w.flags, w.feedback));
        }
        out
    }

    /// A bar chart of flags and feedback per week, as a standalone SVG.
    pub fn chart_svg(&self) -> String {
        let (w, h, pad, bottom) = (720.0_f64, 260.0_f64, 40.0_f64, 40.0_f64);
        let max = self.weeks.iter().map(|w| w.flags.max(w.feedback)).max().unwrap_or(0).max(1) as f64;
        let slot = (w - 2.0 * pad) / self.weeks.len().max(1) as f64;
        let bar = (slot / 2.0 - 2.0).max(1.0);
        let y = |v: u64| h - bottom - (v as f64 / max) * (h - bottom - pad);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\
             <title>Flags and feedback per week</title><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\
             <text x=\"{pad}\" y=\"20\" font-size=\"14\" fill=\"#222\">Flags and feedback per week</text>\
             <rect x=\"{}\" y=\"10\" width=\"10\" height=\"10\" fill=\"#c0392b\"/><text x=\"{}\" y=\"19\">flags</text>\
             <rect x=\"{}\" y=\"10\" width=\"10\" height=\"10\" fill=\"#3b82c4\"/><text x=\"{}\" y=\"19\">feedback</text>\
             <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
             <text x=\"4\" y=\"{}\" fill=\"#666\">{}</text>",
            w - 190.0,
            w - 176.0,
            w - 120.0,
            w - 106.0,
            h - bottom,
            w - pad,
            h - bottom,
            pad + 4.0,
            max as u64
        );
        for (i, week) in self.weeks.iter().enumerate() {
            let x = pad + i as f64 * slot + 1.0;
            for (j, (value, colour)) in [(week.flags, "#c0392b"), (week.feedback, "#3b82c4")].into_iter().enumerate() {
                let top = y(value);
                svg.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {value}</title></rect>",
                    x + j as f64 * (bar + 1.0),
                    (h - bottom - top).max(0.0),
                    week.starts
                ));
            }
            if self.weeks.len() <= 12 || i % (self.weeks.len() / 12 + 1) == 0 {
                svg.push_str(&format!(
                    "<text x=\"{x:.1}\" y=\"{}\" fill=\"#444\">{}</text>",
                    h - bottom + 14.0,
                    &week.starts[5..]
                ));
            }
        }
        svg.push_str("</svg>");
        svg
    }

    /// One self-contained HTML file: open it in any browser, nothing to fetch.
    pub fn to_html(&self) -> String {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let mut rows = String::new();
        for r in &self.rules {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
                esc(&r.rule),
                r.flags,
                r.dismissed,
                r.dismissal_rate * 100.0
            ));
        }
        let fb: u64 = self.feedback_by_kind.values().sum();
        let kinds: String = self
            .feedback_by_kind
            .iter()
            .map(|(k, n)| {
                format!(
                    "<li>{}: {n} ({} acknowledged)</li>",
                    esc(k),
                    self.acknowledged_by_kind.get(k).copied().unwrap_or(0)
                )
            })
            .collect();
        let stale: String = self
            .stale_channels
            .iter()
            .map(|c| match c.quiet_days {
                Some(d) => format!("<li>channel {}: no staff post for {d} days</li>", c.channel),
                None => format!("<li>channel {}: no staff post seen</li>", c.channel),
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bedside report {from} to {to}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}\
             .cards{{display:flex;gap:1em}}.card{{flex:1;border:1px solid #ddd;border-radius:8px;padding:.8em}}\
             .card b{{font-size:1.8em;display:block}}table{{border-collapse:collapse;width:100%}}\
             td,th{{border-bottom:1px solid #eee;padding:.3em;text-align:left}}</style></head><body>\
             <h1>Bedside report</h1><p>{from} to {to}</p>\
             <div class=\"cards\"><div class=\"card\"><b>{staff}</b>staff posts</div><div class=\"card\"><b>{patient}</b>patient posts</div>\
             <div class=\"card\"><b>{flags}</b>flags</div><div class=\"card\"><b>{fb}</b>feedback</div></div>\
             <h2>Per week</h2>{chart}\
             <h2>Rules</h2><p>A high dismissal rate means a rule flags what staff think is fine: a candidate for tuning in <code>config/rules/</code>.</p>\
             <table><tr><th>rule</th><th>flags</th><th>dismissed</th><th>dismissal rate</th></tr>{rows}</table>\
             <p>Fixed by edit: {fixed}{median}</p>\
             <h2>Feedback</h2><ul>{kinds}</ul>\
             <h2>Quiet channels</h2><ul>{stale}</ul></body></html>",
            from = self.from,
            to = self.to,
            staff = self.staff_posts,
            patient = self.patient_posts,
            flags = self.flags,
            chart = self.chart_svg(),
            fixed = self.fixed_by_edit,
            median = self.median_minutes_to_fix.map(|m| format!(" (median {m:.0} minutes)")).unwrap_or_default(),
            stale = if stale.is_empty() { "<li>none</li>".to_string() } else { stale },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_790_000_000;

    fn data() -> ReportData {
        let flag = |days_ago: u64, rules: &[&str], status: &str, fixed_after_min: Option<u64>| FlagRow {
            created_at: NOW - days_ago * DAY,
            labels: vec!["medical_advice".into()],
            rules: rules.iter().map(|r| r.to_string()).collect(),
            status: status.into(),
            resolved_at: fixed_after_min.map(|m| NOW - days_ago * DAY + m * 60),
        };
        ReportData {
            since: NOW - 30 * DAY,
            staff_posts: 120,
            patient_posts: 300,
            flags: vec![
                flag(1, &["advice.dose"], "resolved_by_edit", Some(10)),
                flag(2, &["advice.dose"], "dismissed", None),
                flag(9, &["advice.dose", "id.phone"], "resolved_by_edit", Some(30)),
                flag(20, &["id.phone"], "open", None),
            ],
            dismissals: [("advice.dose".to_string(), 1)].into_iter().collect(),
            feedback: vec![
                FeedbackRow { created_at: NOW - DAY, kind: "praise".into(), replied: true },
                FeedbackRow { created_at: NOW - 3 * DAY, kind: "complaint".into(), replied: false },
            ],
            channels: vec![(7, Some(NOW - 9 * DAY)), (8, Some(NOW - DAY)), (9, None)],
            stale_after: 5 * DAY,
        }
    }

    #[test]
    fn figures() {
        let r = build(&data(), NOW);
        assert_eq!(r.flags, 4);
        assert_eq!(r.flags_by_label["medical_advice"], 4);
        assert_eq!(
            r.rules[0],
            RuleLine { rule: "advice.dose".into(), flags: 3, dismissed: 1, dismissal_rate: 1.0 / 3.0 }
        );
        assert_eq!(r.median_minutes_to_fix, Some(20.0));
        assert_eq!(r.feedback_by_kind["complaint"], 1);
        assert_eq!(r.acknowledged_by_kind.get("complaint"), None);
        assert_eq!(
            r.stale_channels,
            vec![StaleChannel { channel: 7, quiet_days: Some(9) }, StaleChannel { channel: 9, quiet_days: None }]
        );
        assert_eq!(r.weeks.iter().map(|w| w.flags).sum::<u64>(), 4);
        assert_eq!(r.weeks.iter().map(|w| w.feedback).sum::<u64>(), 2);
    }

    #[test]
    fn renderings() {
        let r = build(&data(), NOW);
        let md = r.to_markdown();
        assert!(md.contains("| `advice.dose` | 3 | 1 | 33% |"), "{md}");
        let html = r.to_html();
        assert!(html.starts_with("<!doctype html>") && html.contains("<svg") && !html.contains("http-equiv"));
        assert!(!html.contains("src=\"http"), "self-contained");
        let svg = r.chart_svg();
        assert_eq!(svg.matches("<rect").count(), 2 * r.weeks.len() + 3, "two bars a week, plus background and legend");
    }

    #[test]
    fn dates_and_periods() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_790_000_000), "2026-09-21");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(parse_since("30d"), Some(30 * DAY));
        assert_eq!(parse_since("2w"), Some(2 * WEEK));
        assert_eq!(parse_since("48h"), Some(48 * 3600));
        assert_eq!(parse_since("30"), None);
        assert_eq!(parse_since("d"), None);
        assert_eq!(parse_since("5y"), None);
    }
}
