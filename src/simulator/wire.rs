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
            Value::Float(f) => Doc::Timestamp((f * 1000.0) as i64),
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
}
