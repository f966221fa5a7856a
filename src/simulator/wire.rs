//! The two wire protocols GameLift clients speak, over one protocol-neutral document type.
//!
//! `aws-sdk-gamelift` 1.x sends Smithy RPC v2 CBOR (`POST /service/GameLift/operation/<Op>`);
//! boto3 and the AWS CLI send AWS JSON 1.1 (`POST /` with `X-Amz-Target: GameLift.<Op>`). The
//! operations work on [`Doc`] and never see which one was used.

use std::collections::BTreeMap;

/// A protocol-neutral value: what both CBOR and JSON bodies decode to and encode from.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Epoch milliseconds; CBOR tag 1 (epoch seconds) on the RPC v2 wire, a number in JSON.
    Timestamp(i64),
    List(Vec<Doc>),
    Map(BTreeMap<String, Doc>),
}

/// Which protocol a request came in on; the answer goes back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    RpcV2Cbor,
    AwsJson11,
}

impl Protocol {
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::RpcV2Cbor => "application/cbor",
            Protocol::AwsJson11 => "application/x-amz-json-1.1",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::RpcV2Cbor => "rpc-v2-cbor",
            Protocol::AwsJson11 => "awsJson1_1",
        }
    }

    pub fn decode(self, body: &[u8]) -> Result<Doc, String> {
        if body.is_empty() {
            return Ok(Doc::Map(BTreeMap::new()));
        }
        match self {
            Protocol::RpcV2Cbor => {
                let value: ciborium::Value =
                    ciborium::from_reader(body).map_err(|e| format!("body is not valid CBOR: {e}"))?;
                Ok(from_cbor(value))
            }
            Protocol::AwsJson11 => {
                let value: serde_json::Value =
                    serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
                Ok(from_json(value))
            }
        }
    }

    pub fn encode(self, doc: &Doc) -> Vec<u8> {
        match self {
            Protocol::RpcV2Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(&to_cbor(doc), &mut out).expect("writing CBOR to a Vec cannot fail");
                out
            }
            Protocol::AwsJson11 => serde_json::to_vec(&to_json(doc)).expect("JSON encoding cannot fail"),
        }
    }
}

fn from_cbor(value: ciborium::Value) -> Doc {
    use ciborium::Value;
    match value {
        Value::Null => Doc::Null,
        Value::Bool(b) => Doc::Bool(b),
        Value::Integer(i) => Doc::Int(i64::try_from(i128::from(i)).unwrap_or(i64::MAX)),
        Value::Float(f) => Doc::Float(f),
        Value::Text(s) => Doc::Str(s),
        Value::Bytes(b) => Doc::Str(String::from_utf8_lossy(&b).into_owned()),
        Value::Tag(1, inner) => match *inner {
            Value::Integer(i) => Doc::Timestamp(i64::try_from(i128::from(i)).unwrap_or(0) * 1000),
            // To the nearest millisecond: the SDK sends `as_secs_f64()`, whose binary fraction
            // can fall just short of the millisecond it was built from.
            Value::Float(f) => Doc::Timestamp((f * 1000.0).round() as i64),
            other => from_cbor(other),
        },
        Value::Tag(_, inner) => from_cbor(*inner),
        Value::Array(items) => Doc::List(items.into_iter().map(from_cbor).collect()),
        Value::Map(entries) => Doc::Map(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::Text(key) => Some((key, from_cbor(v))),
                    _ => None,
                })
                .collect(),
        ),
        _ => Doc::Null,
    }
}

fn to_cbor(doc: &Doc) -> ciborium::Value {
    use ciborium::Value;
    match doc {
        Doc::Null => Value::Null,
        Doc::Bool(b) => Value::Bool(*b),
        Doc::Int(i) => Value::Integer((*i).into()),
        Doc::Float(f) => Value::Float(*f),
        Doc::Str(s) => Value::Text(s.clone()),
        Doc::Timestamp(ms) => Value::Tag(1, Box::new(epoch_seconds(*ms))),
        Doc::List(items) => Value::Array(items.iter().map(to_cbor).collect()),
        Doc::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::Text(k.clone()), to_cbor(v)))
                .collect(),
        ),
    }
}

/// Epoch seconds for tag 1: an integer when whole, else the smallest float that clients which
/// truncate to milliseconds (as the Rust SDK does) read back as exactly `ms`.
fn epoch_seconds(ms: i64) -> ciborium::Value {
    if ms % 1000 == 0 {
        return ciborium::Value::Integer((ms / 1000).into());
    }
    let mut seconds = ms as f64 / 1000.0;
    // Read back the way clients do: whole seconds, then the fraction's nanoseconds, truncated.
    let read_back = |s: f64| s.floor() as i64 * 1000 + ((s - s.floor()) * 1e9) as i64 / 1_000_000;
    while read_back(seconds) < ms {
        seconds = seconds.next_up();
    }
    ciborium::Value::Float(seconds)
}

fn from_json(value: serde_json::Value) -> Doc {
    use serde_json::Value;
    match value {
        Value::Null => Doc::Null,
        Value::Bool(b) => Doc::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Doc::Int(i),
            None => Doc::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Doc::Str(s),
        Value::Array(items) => Doc::List(items.into_iter().map(from_json).collect()),
        Value::Object(entries) => Doc::Map(entries.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

fn to_json(doc: &Doc) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Doc::Null => Value::Null,
        Doc::Bool(b) => Value::Bool(*b),
        Doc::Int(i) => Value::from(*i),
        Doc::Float(f) => Value::from(*f),
        Doc::Str(s) => Value::String(s.clone()),
        Doc::Timestamp(ms) => Value::from(*ms as f64 / 1000.0),
        Doc::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Doc::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// RFC 3339 UTC text of epoch milliseconds, e.g. `2026-11-01T00:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let of_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    )
}

/// Builds a map document from `(key, value)` pairs, skipping `Null` members as AWS does.
pub fn map<const N: usize>(entries: [(&str, Doc); N]) -> Doc {
    Doc::Map(
        entries
            .into_iter()
            .filter(|(_, v)| *v != Doc::Null)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Typed access to request members, with the error text GameLift would give.
pub struct Input<'a>(pub &'a BTreeMap<String, Doc>);

impl Input<'_> {
    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.get(name) {
            None | Some(Doc::Null) => Ok(None),
            Some(Doc::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{name} must be a string")),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.0.get(name) {
            None | Some(Doc::Null) => Ok(None),
            Some(Doc::Int(i)) => Ok(Some(*i)),
            Some(_) => Err(format!("{name} must be an integer")),
        }
    }

    /// A timestamp in epoch milliseconds: CBOR tag 1 from the RPC v2 wire, or epoch seconds (a
    /// whole or fractional number) from AWS JSON, rounded to the millisecond.
    pub fn timestamp(&self, name: &str) -> Result<Option<i64>, String> {
        match self.0.get(name) {
            None | Some(Doc::Null) => Ok(None),
            Some(Doc::Timestamp(ms)) => Ok(Some(*ms)),
            Some(Doc::Int(seconds)) => seconds
                .checked_mul(1000)
                .map(Some)
                .ok_or_else(|| format!("{name} is out of range")),
            Some(Doc::Float(seconds)) if seconds.is_finite() && seconds.abs() < 1e15 => {
                Ok(Some((seconds * 1000.0).round() as i64))
            }
            Some(_) => Err(format!("{name} must be a timestamp (epoch seconds)")),
        }
    }

    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        match self.0.get(name) {
            None | Some(Doc::Null) => Ok(None),
            Some(Doc::List(items)) => items
                .iter()
                .map(|item| match item {
                    Doc::Str(s) => Ok(s.clone()),
                    _ => Err(format!("{name} must be a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("{name} must be a list of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_protocols_round_trip() {
        let doc = map([
            ("Name", Doc::Str("x".into())),
            ("Count", Doc::Int(3)),
            ("When", Doc::Timestamp(1_700_000_000_500)),
            ("Gone", Doc::Null),
        ]);
        for protocol in [Protocol::RpcV2Cbor, Protocol::AwsJson11] {
            let back = protocol.decode(&protocol.encode(&doc)).unwrap();
            let Doc::Map(m) = back else { panic!("not a map") };
            assert_eq!(m.get("Name"), Some(&Doc::Str("x".into())));
            assert_eq!(m.get("Count"), Some(&Doc::Int(3)));
            assert!(!m.contains_key("Gone"));
        }
        let Doc::Map(m) = Protocol::RpcV2Cbor
            .decode(&Protocol::RpcV2Cbor.encode(&doc))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.get("When"), Some(&Doc::Timestamp(1_700_000_000_500)));
    }

    #[test]
    fn timestamps_from_both_wires_and_as_text() {
        // What aws-smithy-cbor sends for 2026-11-01T00:00:00.123Z: tag 1, as_secs_f64().
        let mut body = Vec::new();
        let tagged = ciborium::Value::Map(vec![(
            ciborium::Value::Text("StartTime".into()),
            ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(1_793_491_200.123))),
        )]);
        ciborium::into_writer(&tagged, &mut body).unwrap();
        let Doc::Map(cbor) = Protocol::RpcV2Cbor.decode(&body).unwrap() else {
            panic!("not a map")
        };
        assert_eq!(Input(&cbor).timestamp("StartTime"), Ok(Some(1_793_491_200_123)));
        let Doc::Map(json) = Protocol::AwsJson11
            .decode(br#"{"StartTime": 1793491200, "EndTime": 1793491200.5, "Bad": "x"}"#)
            .unwrap()
        else {
            panic!("not a map")
        };
        let input = Input(&json);
        assert_eq!(input.timestamp("StartTime"), Ok(Some(1_793_491_200_000)));
        assert_eq!(input.timestamp("EndTime"), Ok(Some(1_793_491_200_500)));
        assert_eq!(input.timestamp("Missing"), Ok(None));
        assert_eq!(
            input.timestamp("Bad"),
            Err("Bad must be a timestamp (epoch seconds)".to_string())
        );
        assert_eq!(rfc3339(1_793_491_200_123), "2026-11-01T00:00:00.123Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000 + 86_399_999), "2000-02-29T23:59:59.999Z");
    }
}
