//! `--log.format=json`: one flat JSON object per line, as Prometheus' own exporters log
//! (go-kit's `ts`, `level`, `msg`), with the event's fields at the top level beside them:
//!
//! ```json
//! {"ts":"2026-01-02T03:04:05.678901Z","level":"warn","msg":"reload failed; keeping the running configuration","target":"gamelift_exporter","error":"..."}
//! ```
//!
//! `ts` is RFC 3339 in UTC, `level` is lower case (`error`, `warn`, `info`, `debug`, `trace`),
//! `target` the module that logged. Field values keep their JSON type (numbers and booleans as
//! such, everything else as a string). A field whose name is one of the four keys above is
//! written as `field.<name>`, so that no key appears twice. Spans are not written: the exporter
//! logs everything an event needs in its own fields.

use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The keys every line starts with.
const RESERVED: [&str; 4] = ["ts", "level", "msg", "target"];

/// The event formatter of `--log.format=json`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlatJson;

/// Collects an event's message and fields as JSON text.
#[derive(Default)]
struct Fields {
    message: String,
    /// `,"key":value` for every field but the message, in the order they were recorded.
    rest: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: serde_json::Value) {
        let name = field.name();
        if name == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            return;
        }
        let key = if RESERVED.contains(&name) {
            format!("field.{name}")
        } else {
            name.to_string()
        };
        let _ = write!(self.rest, ",{}:{}", serde_json::Value::String(key), value);
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, serde_json::Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, serde_json::Value::String(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities are not JSON numbers: written as strings.
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| serde_json::Value::String(value.to_string()), Into::into);
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, serde_json::Value::String(value.to_string()));
    }
}

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let level = meta.level().as_str().to_ascii_lowercase();
        let string = |s: &str| serde_json::Value::String(s.to_string());
        writeln!(
            writer,
            "{{\"ts\":{},\"level\":{},\"msg\":{},\"target\":{}{}}}",
            string(&ts),
            string(&level),
            string(&fields.message),
            string(meta.target()),
            fields.rest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_are_flat_with_ts_level_msg_and_typed_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let error = std::io::Error::other("disk \"full\"");
            tracing::warn!(fleets = 3_u64, ok = false, ratio = 0.5, %error, "state file not written");
            tracing::debug!(target: "gamelift_exporter::sqs", level = "x", msg = -1_i64, "two\nlines");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let ts = first["ts"].as_str().unwrap().to_string();
        assert!(
            ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {ts}"
        );
        assert_eq!(
            first,
            serde_json::json!({
                "ts": ts,
                "level": "warn",
                "msg": "state file not written",
                "target": "gamelift_exporter::logging::tests",
                "fleets": 3,
                "ok": false,
                "ratio": 0.5,
                "error": "disk \"full\"",
            })
        );
        // The keys in this order: ts, level, msg, target, then the fields as recorded.
        assert!(
            lines[0].starts_with(&format!("{{\"ts\":\"{ts}\",\"level\":\"warn\",\"msg\":")),
            "{}",
            lines[0]
        );
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["level"], "debug");
        assert_eq!(second["msg"], "two\nlines");
        assert_eq!(second["target"], "gamelift_exporter::sqs");
        assert_eq!(second["field.level"], "x");
        assert_eq!(second["field.msg"], -1);
        assert_eq!(second.as_object().unwrap().len(), 6, "{second}");
    }
}
