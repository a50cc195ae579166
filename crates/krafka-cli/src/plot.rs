//! SVG charts for `krafka perf --plot`: end-to-end latency over the run, and for sweeps the
//! throughput-versus-p99-latency curve. Plain SVG text, written by hand: no dependency, and any
//! browser shows it.

use std::fmt::Write as _;

/// One chart: points, optionally labelled, optionally joined by a line.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub points: &'a [(f64, f64)],
    pub labels: &'a [String],
    pub joined: bool,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// Rounds a range's top up to a readable number (1, 2 or 5 times a power of ten).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * magnitude)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn number(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The chart as an SVG document.
pub fn svg(chart: &Chart<'_>) -> String {
    let x_max = nice_ceiling(chart.points.iter().map(|p| p.0).fold(0.0, f64::max));
    let y_max = nice_ceiling(chart.points.iter().map(|p| p.1).fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + v / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="25" text-anchor="middle" font-size="16">{}</text>"#,
        WIDTH / 2.0,
        escape(chart.title)
    );
    for i in 0..=5 {
        let fx = x_max * f64::from(i) / 5.0;
        let fy = y_max * f64::from(i) / 5.0;
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            x(fx),
            TOP,
            TOP + plot_h,
            TOP + plot_h + 18.0,
            number(fx)
        );
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#ddd"/><text x="{3}" y="{4}" text-anchor="end">{5}</text>"##,
            LEFT,
            y(fy),
            LEFT + plot_w,
            LEFT - 6.0,
            y(fy) + 4.0,
            number(fy)
        );
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0,
        escape(chart.x_label)
    );
    let _ = writeln!(
        out,
        r#"<text x="20" y="{0}" text-anchor="middle" transform="rotate(-90 20 {0})">{1}</text>"#,
        TOP + plot_h / 2.0,
        escape(chart.y_label)
    );
    if chart.joined && chart.points.len() > 1 {
        let path: Vec<String> = chart
            .points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>"##,
            path.join(" ")
        );
    }
    for (i, (px, py)) in chart.points.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="#1f77b4"/>"##,
            x(*px),
            y(*py),
            if chart.joined { 3 } else { 2 }
        );
        if let Some(label) = chart.labels.get(i) {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                x(*px) + 5.0,
                y(*py) - 5.0,
                escape(label)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Writes the chart to `path`.
pub fn write(path: &std::path::Path, chart: &Chart<'_>) -> Result<(), String> {
    std::fs::write(path, svg(chart)).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_has_every_point_and_label_inside_the_plot() {
        let points = [(0.0, 1.0), (2.5, 40.0), (5.0, 12.0)];
        let labels = vec!["a<b".to_owned()];
        let svg = svg(&Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            points: &points,
            labels: &labels,
            joined: true,
        });
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("a&lt;b"));
        assert!(svg.contains("<polyline"));
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(0.12), 0.2);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
