//! Human-friendly durations (`"60s"`, `"1m30s"`, `"500ms"`, `"30d"`) for config and scenario files.

use std::time::Duration;

/// Parses a duration made of one or more `<integer><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
///
/// The error text is what a user sees next to the file and line, so it says what was expected.
pub fn parse(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\"";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration: {expected}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!("invalid duration {text:?}: {expected}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "d" => Duration::from_secs(number.saturating_mul(86_400)),
            "" if rest.is_empty() => {
                return Err(format!("invalid duration {text:?}: missing unit, {expected}"))
            }
            "" => {
                let c = rest.chars().next().unwrap_or(' ');
                return Err(format!("invalid duration {text:?}: unexpected {c:?}, {expected}"));
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?}, {expected}"
                ))
            }
        };
        total = total.saturating_add(part);
    }
    Ok(total)
}

/// Formats a duration the way [`parse`] reads it back, for `--check-config` output.
pub fn format(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let mut secs = duration.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Serde adapter: `#[serde(with = "crate::duration::serde_text")]`.
pub mod serde_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format(*value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 86_400)));
    }

    #[test]
    fn rejects_bad_durations_with_the_reason() {
        assert_eq!(
            parse("60").unwrap_err(),
            "invalid duration \"60\": missing unit, expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\""
        );
        assert!(parse("6x").unwrap_err().contains("unknown unit \"x\""));
        assert!(parse("1 minute").unwrap_err().contains("unexpected ' '"));
        assert!(parse("").unwrap_err().starts_with("empty duration"));
        assert!(parse("s").unwrap_err().starts_with("invalid duration \"s\""));
    }

    #[test]
    fn formats_round_trip() {
        for text in ["1d2h3m4s", "500ms", "60s", "5m"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
    }
}
