//! PromQL text helpers: the operands of an expression's threshold, the metric names it uses,
//! `label_values(...)` variable queries, and Grafana's variables replaced by test values. Just
//! enough of PromQL for the expressions of this kit; checked by their own test below.

use std::collections::BTreeSet;

/// Dashboard variables and what the end-to-end test substitutes for them.
pub const SUBSTITUTIONS: &[(&str, &str)] = &[
    ("$__rate_interval", "10s"),
    ("$__interval", "2s"),
    ("$__range", "1m"),
    ("$job", ".*"),
    ("$account", ".*"),
    ("$home_region", ".*"),
    ("$fleet", ".*"),
    ("$location", ".*"),
    ("$queue", ".*"),
    ("$configuration", ".*"),
];

/// Splits an expression at its top-level comparison (`== != > < >= <=`) and
/// set (`and or unless`) operators and returns the operands, with binary
/// operator modifiers (`bool`, `on(..)`, `ignoring(..)`, `group_left(..)`,
/// `group_right(..)`) removed. `a > 0` gives `["a", "0"]`; an expression
/// without such operators gives itself.
pub fn comparison_operands(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut depth = 0i32;
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // operator [start, end)
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i = after_quoted(&chars, i);
                continue;
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ if depth == 0 => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                if ["==", "!=", ">=", "<="].contains(&two.as_str()) {
                    cuts.push((i, i + 2));
                    i += 2;
                    continue;
                }
                if c == '>' || c == '<' {
                    cuts.push((i, i + 1));
                    i += 1;
                    continue;
                }
                let starts_word = i == 0 || !is_word_char(chars[i - 1]);
                let set_op = ["and", "or", "unless"].into_iter().find(|w| {
                    let end = i + w.len();
                    starts_word
                        && end <= chars.len()
                        && chars[i..end].iter().copied().eq(w.chars())
                        && chars.get(end).is_none_or(|c| !is_word_char(*c))
                });
                if let Some(word) = set_op {
                    cuts.push((i, i + word.len()));
                    i += word.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for (s, e) in cuts
        .iter()
        .copied()
        .chain(std::iter::once((chars.len(), chars.len())))
    {
        let part: String = chars[start..s].iter().collect();
        parts.push(strip_modifiers(part.trim()).to_string());
        start = e;
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn strip_modifiers(mut s: &str) -> &str {
    loop {
        let before = s;
        for word in ["bool", "on", "ignoring", "group_left", "group_right"] {
            if let Some(rest) = s.strip_prefix(word) {
                if rest.starts_with(|c: char| !is_word_char(c)) || rest.is_empty() {
                    let rest = rest.trim_start();
                    s = if rest.starts_with('(') {
                        match rest.find(')') {
                            Some(end) => rest[end + 1..].trim_start(),
                            None => rest,
                        }
                    } else {
                        rest
                    };
                }
            }
        }
        if s == before {
            return s;
        }
    }
}

/// The index just past the string literal that opens at `start` (PromQL's `"`, `'` or `` ` ``,
/// with backslash escapes).
fn after_quoted(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Identifiers in a PromQL expression that look like metric names: outside
/// strings, label matchers, grouping clauses and function calls.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut brace = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i = after_quoted(&chars, i);
                continue;
            }
            '{' => brace += 1,
            '}' => brace -= 1,
            _ if brace == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if (word.starts_with("gamelift_") || word.contains(':')) && next != Some(&'(') {
                    names.insert(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

/// `label_values(metric_selector, label)` -> (metric_selector, label)
pub fn parse_label_values(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let comma = inner.rfind(',')?;
    let (sel, label) = (inner[..comma].trim(), inner[comma + 1..].trim());
    (!sel.is_empty() && !label.is_empty()).then(|| (sel.to_string(), label.to_string()))
}

/// `query_result(expr)` -> expr
pub fn parse_query_result(q: &str) -> Option<String> {
    let inner = q.trim().strip_prefix("query_result(")?.strip_suffix(')')?;
    (!inner.trim().is_empty()).then(|| inner.trim().to_string())
}

/// The expression with the dashboard variables replaced by [`SUBSTITUTIONS`].
pub fn substitute(expr: &str) -> String {
    let mut out = expr.to_string();
    for (var, value) in SUBSTITUTIONS {
        out = out.replace(var, value);
    }
    out
}

#[test]
fn promql_helpers_split_thresholds() {
    assert_eq!(
        comparison_operands("increase(x[15m]) > 0"),
        ["increase(x[15m])", "0"]
    );
    assert_eq!(
        comparison_operands("time() - x{a=\"b>c\"} > 5 * 60"),
        ["time() - x{a=\"b>c\"}", "5 * 60"]
    );
    assert_eq!(
        comparison_operands("sum by (a) (x) == 0\n  and on (a, b)\nsum by (a) (y{s=\"ACTIVE\"}) > 0"),
        ["sum by (a) (x)", "0", "sum by (a) (y{s=\"ACTIVE\"})", "0"]
    );
    assert_eq!(
        comparison_operands("(a or b) / (c > 0) >= 0.25"),
        ["(a or b) / (c > 0)", "0.25"]
    );
    assert_eq!(comparison_operands("x > bool 1"), ["x", "1"]);
    assert_eq!(
        comparison_operands("up{job=\"gamelift-exporter\"} == 1"),
        ["up{job=\"gamelift-exporter\"}", "1"]
    );
    assert_eq!(comparison_operands("sum(orders_total)"), ["sum(orders_total)"]);
    assert_eq!(
        comparison_operands("increase(x{c=\"A|B\"}[15m]) >= 5\n  and\nincrease(x[5m]) > 0"),
        ["increase(x{c=\"A|B\"}[15m])", "5", "increase(x[5m])", "0"]
    );
    assert_eq!(
        metric_names(
            "sum by (fleet_id) (rate(gamelift_x_total{a=~\"$f\"}[5m])) / on(fleet_id) fleet:gamelift_y:ratio"
        ),
        BTreeSet::from([
            "gamelift_x_total".to_string(),
            "fleet:gamelift_y:ratio".to_string()
        ])
    );
    assert_eq!(
        parse_label_values("label_values(m{a=~\"$b\"}, c)"),
        Some(("m{a=~\"$b\"}".into(), "c".into()))
    );
    assert_eq!(
        parse_query_result("query_result(m{a=~\"$b\"})"),
        Some("m{a=~\"$b\"}".into())
    );
    assert_eq!(parse_query_result("label_values(m, a)"), None);
    assert_eq!(
        substitute("rate(x{f=~\"$fleet\"}[$__rate_interval])"),
        "rate(x{f=~\".*\"}[10s])"
    );
}
