//! Several AWS accounts in one simulator, and who signed each request.
//!
//! Every signed request is attributed to an account by the access key id in its SigV4 credential
//! scope (`Credential=<AKID>/<date>/<region>/<service>/aws4_request`): a long-term key listed
//! under an `[[account]]`, or temporary credentials the simulator's STS issued for one of its
//! roles. Any other key belongs to the default account (`account_id`), so clients with made-up
//! keys keep seeing what they always saw. Signatures are not verified: the simulator checks who
//! signed, not that the signature is right.

use super::ops::ApiError;
use super::rng::Rng;
use super::scenario::Scenario;
use super::state::{Fleet, World};
use super::{SessionRecord, Simulator};
use crate::duration;
use crate::tomlfile::FileError;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

/// `[[account]]`: an AWS account besides (or describing) the default one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    #[serde(deserialize_with = "account_id")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Long-term access key ids (`AKIA...`) whose requests belong to this account.
    #[serde(default, deserialize_with = "access_keys")]
    pub access_keys: Vec<String>,
    #[serde(rename = "role", default)]
    pub roles: Vec<RoleSpec>,
}

/// `[[account.role]]`: a role STS AssumeRole hands out credentials for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// `arn:aws:iam::<account id>:role/<name>`; the account part is checked against the account.
    #[serde(deserialize_with = "role_arn")]
    pub arn: String,
    /// When set, AssumeRole must present exactly this ExternalId (the trust policy's condition).
    #[serde(default, deserialize_with = "external_id")]
    pub external_id: Option<String>,
    /// The role's maximum session duration (IAM's MaxSessionDuration). AssumeRole without
    /// DurationSeconds gets one hour or this, whichever is shorter.
    #[serde(default = "default_session_duration", deserialize_with = "session_duration")]
    pub session_duration: Duration,
}

fn default_session_duration() -> Duration {
    Duration::from_secs(3600)
}

/// A 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn account_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_account_id(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid account id {value:?}: expected 12 digits, such as \"123456789012\""
        )))
    }
}

fn access_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let values = Vec::<String>::deserialize(deserializer)?;
    for value in &values {
        // IAM's AccessKeyId: 16 to 128 characters. Long-term keys start AKIA; ASIA keys are
        // temporary and come from STS, so listing one here would be a mistake.
        let valid = value.starts_with("AKIA")
            && (16..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            return Err(serde::de::Error::custom(format!(
                "invalid access key id {value:?}: expected a long-term key id, \"AKIA\" followed by upper-case letters and digits, 16 to 128 characters in all"
            )));
        }
    }
    Ok(values)
}

/// `arn:aws:iam::<12 digits>:role/<path/>name`, split into account id and role name.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    let name_ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    (is_account_id(account) && name_ok && path.len() <= 512).then_some((account, name))
}

fn role_arn<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if parse_role_arn(&value).is_some() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid role ARN {value:?}: expected arn:aws:iam::<12-digit account id>:role/<name>"
        )))
    }
}

/// STS's ExternalId: 2 to 1224 characters of `[\w+=,.@:/-]`.
fn is_external_id(text: &str) -> bool {
    (2..=1224).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

fn external_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_external_id(&value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid external id {value:?}: expected 2 to 1224 letters, digits or _+=,.@:/-"
        )))
    }
}

fn session_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let value = duration::serde_text::deserialize(deserializer)?;
    // AWS allows 1h to 12h; shorter ones are the simulator's, so that tests can watch a client
    // refresh its credentials within seconds.
    if value >= Duration::from_secs(1) && value <= Duration::from_secs(12 * 3600) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid session duration {}: expected from 1s to 12h (AWS allows 1h to 12h)",
            duration::format(value)
        )))
    }
}

/// The start of the `n`th (0-based) occurrence of `needle` in `text`.
fn nth_occurrence(text: &str, needle: &str, n: usize) -> Option<usize> {
    let mut from = 0;
    for _ in 0..n {
        from += text[from..].find(needle)? + needle.len();
    }
    text[from..].find(needle).map(|at| from + at)
}

/// Checks that span several `[[account]]` entries and fleets, after serde checked each field.
pub(super) fn validate(scenario: &Scenario, path: &Path, text: &str) -> Result<(), FileError> {
    // Point at the `occurrence`th appearance of the quoted value when we can find it.
    let locate = |field: String, value: &str, occurrence: usize, message: String| {
        let needle = format!("\"{value}\"");
        match nth_occurrence(text, &needle, occurrence) {
            Some(start) => FileError::at_span(path, text, start..start + needle.len(), &field, message),
            None => FileError::whole_file(path, Some(&field), message),
        }
    };
    let mut accounts = BTreeSet::from([scenario.account_id.as_str()]);
    let mut key_owner: HashMap<&str, &str> = HashMap::new();
    let mut roles = BTreeSet::new();
    let mut seen = HashMap::<String, usize>::new();
    let mut occurrence = |value: &str| {
        let count = seen.entry(value.to_string()).or_insert(0);
        *count += 1;
        *count - 1
    };
    let mut ids = BTreeSet::new();
    for (index, account) in scenario.accounts.iter().enumerate() {
        let nth = occurrence(&account.id);
        if !ids.insert(account.id.as_str()) {
            return Err(locate(
                format!("account[{index}].id"),
                &account.id,
                nth,
                format!("duplicate account {:?}", account.id),
            ));
        }
        accounts.insert(account.id.as_str());
        for (k, key) in account.access_keys.iter().enumerate() {
            let nth = occurrence(key);
            if let Some(owner) = key_owner.insert(key.as_str(), account.id.as_str()) {
                return Err(locate(
                    format!("account[{index}].access_keys[{k}]"),
                    key,
                    nth,
                    format!("access key {key:?} already belongs to account {owner}"),
                ));
            }
        }
        for (r, role) in account.roles.iter().enumerate() {
            let nth = occurrence(&role.arn);
            let field = format!("account[{index}].role[{r}].arn");
            let (owner, _) = parse_role_arn(&role.arn).expect("checked while parsing");
            if owner != account.id {
                return Err(locate(
                    field,
                    &role.arn,
                    nth,
                    format!(
                        "role {:?} belongs to account {owner}, not to account {}: expected arn:aws:iam::{}:role/<name>",
                        role.arn, account.id, account.id
                    ),
                ));
            }
            if !roles.insert(role.arn.as_str()) {
                return Err(locate(
                    field,
                    &role.arn,
                    nth,
                    format!("duplicate role {:?}", role.arn),
                ));
            }
        }
    }
    for (index, fleet) in scenario.fleets.iter().enumerate() {
        let Some(account) = fleet.account.as_deref() else {
            continue;
        };
        if !accounts.contains(account) {
            let known: Vec<String> = accounts.iter().map(|a| format!("{a:?}")).collect();
            return Err(locate(
                format!("fleet[{index}].account"),
                account,
                0,
                format!(
                    "unknown account {account:?}: expected account_id or the id of an [[account]] ({})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A role as STS knows it.
#[derive(Debug, Clone)]
pub(super) struct Role {
    pub account: String,
    pub name: String,
    pub external_id: Option<String>,
    pub session_duration_ms: i64,
}

/// Temporary credentials the simulator's STS issued.
#[derive(Debug, Clone)]
pub(super) struct Issued {
    pub account: String,
    pub session_token: String,
    pub expiration_ms: i64,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`
    pub arn: String,
}

/// Accounts, their keys and roles, and the credentials STS handed out.
#[derive(Debug)]
pub(super) struct Accounts {
    pub default: String,
    pub known: BTreeSet<String>,
    pub keys: HashMap<String, String>,
    pub roles: BTreeMap<String, Role>,
    pub issued: HashMap<String, Issued>,
    /// Credentials and request ids issued so far: ids follow from the seed and this count.
    pub counter: u64,
    pub seed: u64,
}

impl Accounts {
    pub fn new(scenario: &Scenario) -> Accounts {
        let mut accounts = Accounts {
            default: scenario.account_id.clone(),
            known: BTreeSet::from([scenario.account_id.clone()]),
            keys: HashMap::new(),
            roles: BTreeMap::new(),
            issued: HashMap::new(),
            counter: 0,
            seed: scenario.seed,
        };
        for account in &scenario.accounts {
            let keys: Vec<&str> = account.access_keys.iter().map(String::as_str).collect();
            accounts.add_account(&account.id, &keys);
            for role in &account.roles {
                accounts.add_role(
                    &account.id,
                    &role.arn,
                    role.external_id.as_deref(),
                    role.session_duration,
                );
            }
        }
        accounts
    }

    fn add_account(&mut self, id: &str, access_keys: &[&str]) {
        assert!(is_account_id(id), "account id {id:?} is not 12 digits");
        self.known.insert(id.to_string());
        for key in access_keys {
            match self.keys.get(*key) {
                Some(owner) if owner != id => {
                    panic!("access key {key:?} already belongs to account {owner}")
                }
                _ => {
                    self.keys.insert(key.to_string(), id.to_string());
                }
            }
        }
    }

    fn add_role(&mut self, account: &str, arn: &str, external_id: Option<&str>, duration: Duration) {
        let (owner, name) = parse_role_arn(arn)
            .unwrap_or_else(|| panic!("{arn:?} is not a role ARN (arn:aws:iam::<id>:role/<name>)"));
        assert_eq!(owner, account, "role {arn} belongs to account {owner}");
        self.known.insert(account.to_string());
        self.roles.insert(
            arn.to_string(),
            Role {
                account: account.to_string(),
                name: name.to_string(),
                external_id: external_id.map(str::to_string),
                session_duration_ms: duration.as_millis() as i64,
            },
        );
    }

    /// Who signed a request, by the access key in its SigV4 credential scope.
    pub fn attribute(&self, authorization: Option<&str>, session_token: Option<&str>, now_ms: i64) -> Caller {
        let Some(authorization) = authorization.filter(|a| a.starts_with("AWS4-HMAC-SHA256")) else {
            return Caller::default();
        };
        let user = |account: &str| format!("arn:aws:iam::{account}:user/gamelift-exporter");
        // Signed, but with no credential scope to read: the default account, as before accounts.
        let Some(scope) = credential_scope(authorization) else {
            return Caller {
                account: self.default.clone(),
                region: String::new(),
                arn: user(&self.default),
                refusal: None,
            };
        };
        let region = scope.region.to_string();
        if let Some(issued) = self.issued.get(scope.access_key) {
            let refusal = if session_token != Some(issued.session_token.as_str()) {
                Some(Refusal::InvalidToken)
            } else if now_ms >= issued.expiration_ms {
                Some(Refusal::Expired)
            } else {
                None
            };
            return Caller {
                account: issued.account.clone(),
                region,
                arn: issued.arn.clone(),
                refusal,
            };
        }
        let account = self.keys.get(scope.access_key).unwrap_or(&self.default).clone();
        Caller {
            arn: user(&account),
            account,
            region,
            refusal: None,
        }
    }

    /// A fresh id of `length` characters from `alphabet`, unique per `kind` and issue count.
    pub fn mint(&self, kind: u64, length: usize, alphabet: &[u8]) -> String {
        draw(self.seed, &[0x575, kind, self.counter], length, alphabet)
    }
}

/// `length` characters of `alphabet` from the seeded stream `stream`.
pub(super) fn draw(seed: u64, stream: &[u64], length: usize, alphabet: &[u8]) -> String {
    let mut rng = Rng::new(seed, stream);
    (0..length)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
        .collect()
}

/// Why a signed request's credentials are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Temporary credentials past their Expiration.
    Expired,
    /// An STS-issued access key without its session token (or with another one).
    InvalidToken,
}

impl Refusal {
    /// As GameLift answers it, in both JSON and CBOR: HTTP 400 with the code as `__type`.
    pub fn gamelift_error(self) -> ApiError {
        match self {
            Refusal::Expired => ApiError {
                code: "ExpiredTokenException",
                status: 400,
                message: "The security token included in the request is expired".into(),
            },
            Refusal::InvalidToken => ApiError {
                code: "UnrecognizedClientException",
                status: 400,
                message: "The security token included in the request is invalid.".into(),
            },
        }
    }
}

/// The account and Region a request is attributed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// 12-digit account id; empty when the request is not signed.
    pub account: String,
    /// Signing Region from the credential scope; empty when not signed.
    pub region: String,
    /// The principal, as IAM names it in AccessDenied messages.
    pub arn: String,
    pub refusal: Option<Refusal>,
}

/// The parts of a SigV4 credential scope.
pub(super) struct Scope<'a> {
    pub access_key: &'a str,
    pub region: &'a str,
}

/// `Credential=<AKID>/<date>/<region>/<service>/aws4_request` from an Authorization header.
pub(super) fn credential_scope(authorization: &str) -> Option<Scope<'_>> {
    if !authorization.starts_with("AWS4-HMAC-SHA256") {
        return None;
    }
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() == 5 && !parts[0].is_empty()).then(|| Scope {
        access_key: parts[0],
        region: parts[2],
    })
}

/// The account a fleet belongs to: its own `account`, else the default one.
pub fn fleet_account<'a>(world: &'a World, fleet: &'a Fleet) -> &'a str {
    fleet.spec.account.as_deref().unwrap_or(&world.account_id)
}

impl Simulator {
    /// Adds an account (or more long-term keys to one): requests signed with these access key
    /// ids are attributed to it. Panics on a malformed id or a key of another account.
    pub fn add_account(&self, id: &str, access_keys: &[&str]) {
        self.lock().accounts.add_account(id, access_keys);
    }

    /// Adds (or replaces) a role STS lets callers assume, with a one-hour session; with
    /// `external_id`, AssumeRole must present exactly it. Panics when `role_arn` is not
    /// `arn:aws:iam::<account_id>:role/<name>`.
    pub fn add_role(&self, account_id: &str, role_arn: &str, external_id: Option<&str>) {
        self.lock()
            .accounts
            .add_role(account_id, role_arn, external_id, default_session_duration());
    }

    /// Removes a role: AssumeRole for it is refused AccessDenied from now on (credentials already
    /// issued stay valid until they expire, as on AWS). Returns whether it existed.
    pub fn remove_role(&self, role_arn: &str) -> bool {
        self.lock().accounts.roles.remove(role_arn).is_some()
    }

    /// Fleet ids of one account with their locations (home Region first), as [`Simulator::fleets`].
    pub fn fleets_of_account(&self, account_id: &str) -> Vec<(String, Vec<String>)> {
        let inner = self.synced();
        let world = &inner.world;
        world
            .fleets
            .iter()
            .filter(|f| fleet_account(world, f) == account_id)
            .map(|f| (f.spec.id.clone(), f.locations.clone()))
            .collect()
    }

    /// Every visible session of one account's fleets, as [`Simulator::sessions`].
    pub fn sessions_of_account(&self, account_id: &str) -> Vec<SessionRecord> {
        let fleets: BTreeSet<String> = self
            .fleets_of_account(account_id)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        self.sessions()
            .into_iter()
            .filter(|s| fleets.contains(&s.fleet_id))
            .collect()
    }

    /// Who signed a request, judged at the current simulated time.
    pub(super) fn attribute(&self, authorization: Option<&str>, session_token: Option<&str>) -> Caller {
        let inner = self.synced();
        let now = inner.world.now_ms();
        inner.accounts.attribute(authorization, session_token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261125/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=abc";
        let scope = credential_scope(header).unwrap();
        assert_eq!((scope.access_key, scope.region), ("AKIAEXAMPLE", "eu-west-1"));
        assert!(credential_scope("AWS4-HMAC-SHA256 Credential=/a/b/c/d").is_none());
        assert!(credential_scope("Basic abc").is_none());
    }

    #[test]
    fn parses_role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/exporter"),
            Some(("111111111111", "exporter"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/ops/read-only"),
            Some(("111111111111", "read-only"))
        );
        for bad in [
            "arn:aws:iam::11111111111:role/x",
            "arn:aws:iam::111111111111:user/x",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:sts::111111111111:role/x",
            "arn:aws:iam::111111111111:role/a b",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
        assert_eq!(nth_occurrence("a x a x a", "a", 2), Some(8));
        assert_eq!(nth_occurrence("a x a", "a", 2), None);
    }

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("s.toml"), text).map_err(|e| e.to_string())
    }

    const ACCOUNTS: &str = r#"
[[account]]
id = "111111111111"
name = "staging"
access_keys = ["AKIASTAGING000001"]
[[account.role]]
arn = "arn:aws:iam::111111111111:role/exporter"
external_id = "studio-42"
session_duration = "15m"

[[account]]
id = "222222222222"
"#;

    #[test]
    fn reads_accounts_roles_and_fleet_owners() {
        let scenario = parse(&format!(
            "{ACCOUNTS}[[fleet]]\nid = \"fleet-a\"\nname = \"a\"\ntype = \"SPOT\"\nhome_region = \"us-west-2\"\naccount = \"222222222222\"\n"
        ))
        .unwrap();
        assert_eq!(scenario.account_id, "123456789012");
        assert_eq!(scenario.accounts.len(), 2);
        let staging = &scenario.accounts[0];
        assert_eq!(staging.name.as_deref(), Some("staging"));
        assert_eq!(staging.access_keys, ["AKIASTAGING000001"]);
        assert_eq!(staging.roles[0].external_id.as_deref(), Some("studio-42"));
        assert_eq!(staging.roles[0].session_duration, Duration::from_secs(900));
        assert_eq!(scenario.accounts[1].roles.len(), 0);
        assert_eq!(scenario.fleets[0].account.as_deref(), Some("222222222222"));
        let accounts = Accounts::new(&scenario);
        assert_eq!(
            accounts.roles["arn:aws:iam::111111111111:role/exporter"].session_duration_ms,
            900_000
        );
        assert_eq!(accounts.keys["AKIASTAGING000001"], "111111111111");
        let header = |key: &str| {
            format!("AWS4-HMAC-SHA256 Credential={key}/20261101/eu-west-1/gamelift/aws4_request, SignedHeaders=host, Signature=0")
        };
        let caller = accounts.attribute(Some(&header("AKIASTAGING000001")), None, 0);
        assert_eq!(
            (caller.account.as_str(), caller.region.as_str()),
            ("111111111111", "eu-west-1")
        );
        assert_eq!(caller.arn, "arn:aws:iam::111111111111:user/gamelift-exporter");
        let caller = accounts.attribute(Some(&header("AKIDANYTHING")), None, 0);
        assert_eq!(
            caller.account, "123456789012",
            "any other key: the default account"
        );
        assert_eq!(accounts.attribute(None, None, 0), Caller::default());
        let unscoped = accounts.attribute(Some("AWS4-HMAC-SHA256 nothing"), None, 0);
        assert_eq!(
            (unscoped.account.as_str(), unscoped.region.as_str()),
            ("123456789012", "")
        );
    }

    #[test]
    fn refuses_bad_accounts_with_exact_messages() {
        let cases = [
            (
                "[[account]]\nid = \"12345\"\n",
                "s.toml:2:6: field `account[0].id`: invalid account id \"12345\": expected 12 digits, such as \"123456789012\"",
            ),
            (
                "account_id = \"abc\"\n",
                "s.toml:1:14: field `account_id`: invalid account id \"abc\": expected 12 digits, such as \"123456789012\"",
            ),
            (
                "[[account]]\nid = \"111111111111\"\n[[account.role]]\narn = \"arn:aws:iam::222222222222:role/exporter\"\n",
                "s.toml:4:7: field `account[0].role[0].arn`: role \"arn:aws:iam::222222222222:role/exporter\" belongs to account 222222222222, not to account 111111111111: expected arn:aws:iam::111111111111:role/<name>",
            ),
            (
                "[[account]]\nid = \"111111111111\"\n[[account.role]]\narn = \"arn:aws:iam::111111111111:user/exporter\"\n",
                "s.toml:4:7: field `account[0].role[0].arn`: invalid role ARN \"arn:aws:iam::111111111111:user/exporter\": expected arn:aws:iam::<12-digit account id>:role/<name>",
            ),
            (
                "[[account]]\nid = \"111111111111\"\naccess_keys = [\"AKIASHARED0000001\"]\n[[account]]\nid = \"222222222222\"\naccess_keys = [\"AKIASHARED0000001\"]\n",
                "s.toml:6:16: field `account[1].access_keys[0]`: access key \"AKIASHARED0000001\" already belongs to account 111111111111",
            ),
            (
                "[[account]]\nid = \"111111111111\"\naccess_keys = [\"ASIATEMPORARY0001\"]\n",
                "s.toml:3:15: field `account[0].access_keys`: invalid access key id \"ASIATEMPORARY0001\": expected a long-term key id, \"AKIA\" followed by upper-case letters and digits, 16 to 128 characters in all",
            ),
            (
                "[[account]]\nid = \"111111111111\"\n[[account]]\nid = \"111111111111\"\n",
                "s.toml:4:6: field `account[1].id`: duplicate account \"111111111111\"",
            ),
            (
                "[[account]]\nid = \"111111111111\"\n[[account.role]]\narn = \"arn:aws:iam::111111111111:role/x\"\nsession_duration = \"13h\"\n",
                "s.toml:5:20: field `account[0].role[0].session_duration`: invalid session duration 13h: expected from 1s to 12h (AWS allows 1h to 12h)",
            ),
            (
                "[[account]]\nid = \"111111111111\"\nregion = \"us-west-2\"\n",
                "s.toml:3:1: field `account[0].region`: unknown field `region`, expected one of `id`, `name`, `access_keys`, `role`",
            ),
            (
                "[[fleet]]\nid = \"fleet-a\"\nname = \"a\"\ntype = \"SPOT\"\nhome_region = \"us-west-2\"\naccount = \"333333333333\"\n",
                "s.toml:6:11: field `fleet[0].account`: unknown account \"333333333333\": expected account_id or the id of an [[account]] (\"123456789012\")",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
    }
}
