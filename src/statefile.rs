//! `state.path`: what survives a restart, so that interruptions and fleet events that happen
//! while the exporter is down are counted after it comes back instead of being lost, and none
//! is counted twice.
//!
//! The file is JSON, written atomically (a temporary file in the same directory, fsync, rename,
//! fsync of the directory), so a crash mid-write leaves the previous version. A file that
//! cannot be read or parsed is set aside under a new name (never deleted) and the exporter
//! starts fresh.

use crate::tracking::EventCursor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Bumped when the format changes incompatibly; other versions are set aside like corrupt files.
/// Version 1 (one counting start for all fleets) is read and upgraded.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    pub version: u32,
    /// The earliest counting start of any fleet in the file (epoch ms). Version 1 files have only
    /// this, and it is every fleet's counting start.
    pub counting_since_ms: i64,
    pub saved_at_ms: i64,
    pub fleets: BTreeMap<String, SavedFleet>,
    /// Ids of placement and matchmaking events already counted, with when (epoch ms), so that
    /// SQS redelivering one after a restart does not count it twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events_seen: Vec<(String, i64)>,
    /// Those of `events_seen` whose message was not known to be deleted: remembered until it is,
    /// or until the queue's retention has passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events_undeleted: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFleet {
    /// Interrupted sessions already counted: (session key, when it ended, epoch ms).
    pub ledger: Vec<(u64, i64)>,
    /// Where event polling stands.
    pub events: Option<EventCursor>,
    /// Whether the fleet's first full pass is done (sessions it saw without a TerminationTime
    /// are in the ledger, so they are never counted as new).
    pub baseline_done: bool,
    /// When the exporter started watching the fleet (epoch ms): its counters count from here.
    /// Absent in version 1 files (the file's `counting_since_ms` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_since_ms: Option<i64>,
    /// The account name and home Region it was discovered in: a fleet whose account-Region is
    /// no longer swept, or whose discovery no longer lists it, has left the watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The sessions ACTIVE as of its last complete live pass, per location: the first pass after
    /// a restart counts those that left ACTIVE while the exporter was down.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub active: BTreeMap<String, PackedKeys>,
}

/// Session keys, sorted, written as base64 of their little-endian bytes (8 bytes a session
/// instead of about 20 digits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedKeys(pub Vec<u64>);

impl Serialize for PackedKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        let bytes: Vec<u8> = self.0.iter().flat_map(|k| k.to_le_bytes()).collect();
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for PackedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = String::deserialize(deserializer)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| serde::de::Error::custom(format!("session keys: {e}")))?;
        if bytes.len() % 8 != 0 {
            return Err(serde::de::Error::custom(
                "session keys: not a whole number of keys",
            ));
        }
        Ok(PackedKeys(
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ))
    }
}

/// Reads the state file: `Ok(None)` when there is none (a fresh start), `Err` with the reason
/// when it exists but cannot be used.
pub fn load(path: &Path) -> Result<Option<SavedState>, String> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read it: {error}")),
    };
    let state: SavedState =
        serde_json::from_slice(&text).map_err(|error| format!("not a valid state file: {error}"))?;
    let mut state = state;
    match state.version {
        VERSION => {}
        // Version 1: one counting start for every fleet.
        1 => {
            for fleet in state.fleets.values_mut() {
                fleet.watch_since_ms = Some(state.counting_since_ms);
            }
            state.version = VERSION;
        }
        other => {
            return Err(format!(
                "state file version {other} is not a version this exporter reads (1 or {VERSION})"
            ))
        }
    }
    Ok(Some(state))
}

/// Renames an unusable state file to `<name>.corrupt-<unix seconds>` and returns the new name.
pub fn set_aside(path: &Path, now_ms: i64) -> std::io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{}", now_ms / 1000));
    let aside = PathBuf::from(name);
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

/// Writes the state atomically: temp file, fsync, rename over the old file, fsync the directory.
pub fn save(path: &Path, state: &SavedState) -> std::io::Result<()> {
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".tmp");
    let temp = PathBuf::from(temp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&serde_json::to_vec(state).expect("the state serializes"))?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(directory)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gamelift-exporter-statefile-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saves_and_loads_what_it_saved() {
        let path = dir().join("state.json");
        let _ = std::fs::remove_file(&path);
        assert_eq!(load(&path), Ok(None), "no file: a fresh start");
        let state = SavedState {
            version: VERSION,
            counting_since_ms: 1_000,
            saved_at_ms: 2_000,
            fleets: BTreeMap::from([(
                "fleet-a".to_string(),
                SavedFleet {
                    ledger: vec![(u64::MAX, 1_500)],
                    events: Some(EventCursor::starting_at(1_000)),
                    baseline_done: true,
                    watch_since_ms: Some(1_000),
                    account: Some("default".into()),
                    region: Some("us-west-2".into()),
                    active: BTreeMap::from([("us-west-2".to_string(), PackedKeys(vec![0, 7, u64::MAX]))]),
                },
            )]),
            events_seen: vec![("event-1".to_string(), 1_900)],
            events_undeleted: vec!["event-1".to_string()],
        };
        save(&path, &state).unwrap();
        assert_eq!(load(&path), Ok(Some(state)));
    }

    #[test]
    fn a_corrupt_file_is_refused_with_the_reason_and_set_aside() {
        let path = dir().join("corrupt.json");
        std::fs::write(&path, "{\"version\": 1, \"counting_since_ms\": ").unwrap();
        let reason = load(&path).unwrap_err();
        assert!(
            reason.starts_with("not a valid state file: EOF while parsing"),
            "{reason}"
        );
        let aside = set_aside(&path, 1_700_000_000_000).unwrap();
        assert_eq!(aside, dir().join("corrupt.json.corrupt-1700000000"));
        assert!(!path.exists() && aside.exists());
    }
}
