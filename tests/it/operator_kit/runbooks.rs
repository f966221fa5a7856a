//! docs/runbooks.md: a section for every alert, found by the anchor of its runbook_url, that says
//! what the alert means, what to check on systemd and on Kubernetes, and how to silence it; and
//! no section for an alert that does not exist.

use super::read;
use super::rules::kit_rules;
use super::RUNBOOKS;
use std::collections::BTreeMap;

/// The anchor a Git host gives a heading: lower case, spaces to `-`, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every heading's anchor, with the heading and the text of its section.
fn sections(text: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            if let Some((anchor, heading)) = current.take() {
                out.insert(anchor, (heading, std::mem::take(&mut body)));
            }
            let heading = line.trim_start_matches('#').trim().to_string();
            current = Some((slug(&heading), heading));
            body.clear();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((anchor, heading)) = current {
        out.insert(anchor, (heading, body));
    }
    out
}

#[test]
fn every_alert_has_a_runbook_section() {
    let text = read(RUNBOOKS);
    let sections = sections(&text);
    let mut problems = Vec::new();
    let alerts: Vec<_> = kit_rules().into_iter().filter(|r| r.alert.is_some()).collect();
    for alert in &alerts {
        let name = alert.name();
        let url = alert.annotations.get("runbook_url").cloned().unwrap_or_default();
        let Some((_, anchor)) = url.split_once('#') else {
            problems.push(format!("{name}: runbook_url {url:?} has no anchor"));
            continue;
        };
        let Some((heading, body)) = sections.get(anchor) else {
            problems.push(format!("{name}: no heading with anchor #{anchor} in {RUNBOOKS}"));
            continue;
        };
        if heading != name {
            problems.push(format!("{name}: #{anchor} is the heading {heading:?}"));
        }
        for part in ["**Means**", "systemd", "Kubernetes", "**Silence**"] {
            if !body.contains(part) {
                problems.push(format!("{name}: its section does not say {part:?}"));
            }
        }
    }
    // No section for an alert that is gone.
    for (heading, _) in sections.values() {
        if heading.starts_with("GameLift") && !alerts.iter().any(|a| a.name() == heading) {
            problems.push(format!("{RUNBOOKS}: section {heading:?} names no alert"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(slug("GameLiftExporterDown"), "gameliftexporterdown");
    assert_eq!(slug("Spot interruptions"), "spot-interruptions");
    println!("{} alerts, each with its runbook section", alerts.len());
}
