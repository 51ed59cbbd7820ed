//! Inline SVG charts for the HTML report (no script, no external resource): attempts per day by
//! outcome, each KMS host's count over time against the thresholds, requests per KMS host.

use super::clock::Clock;
use super::esc;
use crate::analysis::Analysis;
use crate::correlate::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write;

const OUTCOMES: [(Outcome, &str); 5] = [
    (Outcome::Activated, "#2e7d32"),
    (Outcome::InsufficientCount, "#f9a825"),
    (Outcome::NotActivated, "#8d6e63"),
    (Outcome::Rejected, "#c62828"),
    (Outcome::NoResponse, "#6a1b9a"),
];

/// Activation attempts per day, stacked by outcome.
pub fn attempts_per_day(a: &Analysis, clock: &Clock) -> Option<String> {
    let mut days: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for x in &a.attempts {
        let day = clock.day(x.time);
        *days
            .entry(day)
            .or_default()
            .entry(x.outcome.name())
            .or_default() += 1;
    }
    if days.is_empty() {
        return None;
    }
    let (w, h, left, bottom, top) = (860.0, 260.0, 50.0, 40.0, 20.0);
    let max = days
        .values()
        .map(|m| m.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bw = (w - left - 10.0) / days.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {}" role="img" aria-label="Activation attempts per day by outcome"><title>Activation attempts per day by outcome</title>"#,
        h + 30.0
    );
    let plot_h = h - bottom - top;
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = top + plot_h - plot_h * k as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{:.0}</text>"##,
            w - 10.0,
            left - 4.0,
            y + 3.0,
            v
        );
    }
    for (i, (day, counts)) in days.iter().enumerate() {
        let x = left + i as f64 * bw;
        let mut y = top + plot_h;
        for (o, colour) in OUTCOMES {
            let n = counts.get(o.name()).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let bh = plot_h * n as f64 / max;
            y -= bh;
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{day}: {n} {}</title></rect>"#,
                x + 1.0,
                (bw - 2.0).max(1.0),
                o.name()
            );
        }
        let step = (days.len() / 10).max(1);
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                h - bottom + 14.0,
                &day[5..]
            );
        }
    }
    let mut lx = left;
    for (o, colour) in OUTCOMES {
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            h + 8.0,
            lx + 14.0,
            h + 17.0,
            o.name().replace('_', " ")
        );
        lx += 150.0;
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Points of a polyline at pixel precision, without the points that draw nothing: repeats, and
/// the inner points of a horizontal run (a point per response would weigh megabytes at fleet size).
fn polyline_points(pts: impl Iterator<Item = (f64, f64)>) -> Vec<String> {
    let mut px: Vec<(i64, i64)> = pts
        .map(|(x, y)| ((x * 2.0).round() as i64, (y * 2.0).round() as i64))
        .collect();
    px.dedup();
    let n = px.len();
    (0..n)
        .filter(|&i| i == 0 || i + 1 == n || px[i].1 != px[i - 1].1 || px[i].1 != px[i + 1].1)
        .map(|i| format!("{:.1},{:.1}", px[i].0 as f64 / 2.0, px[i].1 as f64 / 2.0))
        .collect()
}

/// The count each KMS host reported to its clients over time, against 25 and 5.
pub fn host_counts(a: &Analysis, clock: &Clock) -> Option<String> {
    // One line per host and count (Windows, each Office version), and per minimum inside Windows:
    // a host echoes at most twice the product's minimum.
    let mut series: BTreeMap<String, Vec<(i64, u32)>> = BTreeMap::new();
    for x in &a.attempts {
        if let (Some(h), Some(r)) = (&x.kms_host, &x.response) {
            let group = match (&*x.count_pool, x.min_count) {
                ("Windows", Some(m)) if m >= 25 => " (Windows client OS)".to_string(),
                ("Windows", _) => " (Windows Server)".to_string(),
                (other, _) => format!(" ({other})"),
            };
            series
                .entry(format!("{h}{group}"))
                .or_default()
                .push((r.time.as_second(), r.current_count));
        }
    }
    if series.is_empty() {
        return None;
    }
    let t0 = series.values().flatten().map(|p| p.0).min()?;
    let t1 = series.values().flatten().map(|p| p.0).max()?.max(t0 + 1);
    let (w, h, left, bottom, top) = (860.0, 260.0, 50.0, 30.0, 20.0);
    let ymax = 52.0;
    let plot_h = h - bottom - top;
    let x = |t: i64| left + (w - left - 10.0) * (t - t0) as f64 / (t1 - t0) as f64;
    let y = |c: f64| top + plot_h - plot_h * c / ymax;
    let colours = [
        "#1565c0", "#ef6c00", "#00838f", "#ad1457", "#558b2f", "#4527a0",
    ];
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {}" role="img" aria-label="KMS host count over time"><title>Count reported by each KMS host over time</title>"#,
        h + 30.0
    );
    for (c, label) in [
        (25.0, "25: Windows client OS threshold"),
        (5.0, "5: Windows Server and Office threshold"),
    ] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#c62828" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="10" fill="#c62828" text-anchor="end">{label}</text>"##,
            y(c),
            w - 10.0,
            y(c),
            w - 12.0,
            y(c) - 3.0
        );
    }
    for c in [0.0, 10.0, 20.0, 30.0, 40.0, 50.0] {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" font-size="10" text-anchor="end">{c:.0}</text>"#,
            left - 4.0,
            y(c) + 3.0
        );
    }
    for (k, (host, pts)) in series.iter_mut().enumerate() {
        pts.sort();
        let colour = colours[k % colours.len()];
        let path = polyline_points(pts.iter().map(|(t, c)| (x(*t), y(f64::from(*c)))));
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        let lx = left + k as f64 * 200.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            h + 8.0,
            lx + 14.0,
            h + 17.0,
            esc(host)
        );
    }
    let day = |s| {
        jiff::Timestamp::from_second(s)
            .map(|t| clock.day(t))
            .unwrap_or_default()
    };
    let (first, last) = (day(t0), day(t1));
    let _ = write!(
        svg,
        r#"<text x="{left}" y="{}" font-size="10">{first}</text><text x="{}" y="{}" font-size="10" text-anchor="end">{last}</text>"#,
        h - bottom + 14.0,
        w - 10.0,
        h - bottom + 14.0
    );
    svg.push_str("</svg>");
    Some(svg)
}

/// Requests per KMS host the clients asked.
pub fn requests_per_host(a: &Analysis) -> Option<String> {
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for x in &a.attempts {
        let e = per
            .entry(x.kms_host.as_deref().unwrap_or("(none)").to_string())
            .or_default();
        e.0 += 1;
        if x.response.is_none() {
            e.1 += 1;
        }
    }
    if per.is_empty() {
        return None;
    }
    let max = per.values().map(|v| v.0).max().unwrap_or(1).max(1) as f64;
    let (w, row, left) = (860.0, 26.0, 160.0);
    let h = row * per.len() as f64 + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="Requests per KMS host"><title>Requests per KMS host (unanswered in purple)</title>"#
    );
    for (i, (host, (n, unanswered))) in per.iter().enumerate() {
        let y = 10.0 + i as f64 * row;
        let full = (w - left - 170.0) * *n as f64 / max;
        let un = (w - left - 170.0) * *unanswered as f64 / max;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect x="{left}" y="{y:.1}" width="{full:.1}" height="{}" fill="#1565c0"/><rect x="{left}" y="{y:.1}" width="{un:.1}" height="{}" fill="#6a1b9a"/><text x="{:.1}" y="{:.1}" font-size="11">{n} ({unanswered} unanswered)</text>"##,
            left - 6.0,
            y + 13.0,
            esc(host),
            row - 8.0,
            row - 8.0,
            left + full + 6.0,
            y + 13.0
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}
