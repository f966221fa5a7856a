//! STS `AssumeRole` over the AWS Query protocol, as aws-config's `AssumeRoleProvider`
//! (aws-sdk-sts) and boto3 send it: `POST /`, `Content-Type: application/x-www-form-urlencoded`,
//! `Action=AssumeRole&Version=2011-06-15&RoleArn=...&RoleSessionName=...[&ExternalId=...]
//! [&DurationSeconds=...]`, signed for service `sts`. Answers are the documented XML, in the
//! namespace `https://sts.amazonaws.com/doc/2011-06-15/`; refusals are `<ErrorResponse>`s.
//!
//! Trust policies are not modelled: any signed caller may assume any role the scenario lists,
//! given the role's external id when it has one.

use super::accounts::{Caller, Issued, Refusal};
use super::wire::rfc3339;
use super::Simulator;
use std::collections::BTreeMap;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const VERSION: &str = "2011-06-15";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One STS answer, ready for the wire and the request log.
pub(super) struct StsAnswer {
    pub status: u16,
    pub body: String,
    pub request_id: String,
    /// `ok` or the error code.
    pub outcome: String,
    /// The request's parameters (Action and Version left out) as compact JSON.
    pub params: String,
}

/// Text escaped for XML character data (quotes need no escape there, and STS leaves them be:
/// its messages quote member names with apostrophes).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// An `application/x-www-form-urlencoded` body; `None` for a broken escape or a repeated key.
fn parse_form(body: &[u8]) -> Option<BTreeMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut values = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = super::server::percent_decode(key)?;
        if values
            .insert(key, super::server::percent_decode(value)?)
            .is_some()
        {
            return None;
        }
    }
    Some(values)
}

/// 64-bit FNV-1a, to derive a role's stable unique id from its ARN.
fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A refusal: HTTP status, STS error code and message.
struct Refused(u16, &'static str, String);

impl Refused {
    fn validation(errors: Vec<String>) -> Refused {
        let count = match errors.len() {
            1 => "1 validation error detected".to_string(),
            n => format!("{n} validation errors detected"),
        };
        Refused(400, "ValidationError", format!("{count}: {}", errors.join("; ")))
    }
}

/// AssumeRole's members, checked as STS checks them (all errors in one message).
fn validate(form: &BTreeMap<String, String>) -> Result<Option<i64>, Refused> {
    let mut errors = Vec::new();
    let mut check_text = |member: &str, name: &str, min: usize, max: usize, extra: &str, required: bool| {
        let Some(value) = form.get(name) else {
            if required {
                errors.push(format!(
                    "Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ));
            }
            return;
        };
        if value.chars().count() < min {
            errors.push(format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ));
        } else if value.chars().count() > max {
            errors.push(format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
        if !extra.is_empty()
            && !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_".contains(c) || extra.contains(c))
        {
            errors.push(format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w{extra}]*"
            ));
        }
    };
    check_text("roleArn", "RoleArn", 20, 2048, "", true);
    check_text("roleSessionName", "RoleSessionName", 2, 64, "+=,.@-", true);
    check_text("externalId", "ExternalId", 2, 1224, "+=,.@:/-", false);
    let duration = match form.get("DurationSeconds") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if seconds < 900 => {
                errors.push(format!("Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"));
                None
            }
            Ok(seconds) if seconds > 43_200 => {
                errors.push(format!("Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"));
                None
            }
            Ok(seconds) => Some(seconds),
            Err(_) => {
                errors.push(format!(
                    "Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must be a whole number of seconds"
                ));
                None
            }
        },
    };
    if errors.is_empty() {
        Ok(duration)
    } else {
        Err(Refused::validation(errors))
    }
}

impl Simulator {
    /// Answers one Query-protocol STS request from `caller` (see [`super::accounts`]).
    pub(super) fn sts_answer(&self, caller: &Caller, body: &[u8]) -> StsAnswer {
        let mut inner = self.synced();
        let now_ms = inner.world.now_ms();
        let reject = inner.faults.reject_credentials;
        let accounts = &mut inner.accounts;
        accounts.counter += 1;
        let hex = accounts.mint(1, 32, b"0123456789abcdef");
        let request_id = format!(
            "{}-{}-4{}-8{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..]
        );
        let form = parse_form(body);
        let params = form.as_ref().map_or_else(String::new, |form| {
            let shown: BTreeMap<&String, &String> = form
                .iter()
                .filter(|(k, _)| k.as_str() != "Action" && k.as_str() != "Version")
                .collect();
            serde_json::to_string(&shown).expect("strings serialize")
        });
        let answer = |result: Result<String, Refused>| {
            match result {
            Ok(body) => StsAnswer {
                status: 200,
                body,
                request_id: request_id.clone(),
                outcome: "ok".into(),
                params: params.clone(),
            },
            Err(Refused(status, code, message)) => StsAnswer {
                status,
                body: format!(
                    "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
                    escape(&message)
                ),
                request_id: request_id.clone(),
                outcome: code.into(),
                params: params.clone(),
            },
        }
        };
        let result = (|| {
            let form = form.ok_or_else(|| {
                Refused(
                    404,
                    "MalformedQueryString",
                    "The query string contains a syntax error.".into(),
                )
            })?;
            let action = form.get("Action").ok_or_else(|| {
                Refused(
                    400,
                    "MissingAction",
                    "The request is missing an action or a required parameter.".into(),
                )
            })?;
            let version = form.get("Version").map_or("", String::as_str);
            if action != "AssumeRole" || version != VERSION {
                return Err(Refused(
                    400,
                    "InvalidAction",
                    format!("Could not find operation {action} for version {version}"),
                ));
            }
            if caller.account.is_empty() {
                return Err(Refused(
                    403,
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token".into(),
                ));
            }
            match (reject, caller.refusal) {
                (true, _) => {
                    return Err(Refused(
                        400,
                        "ExpiredToken",
                        "The security token included in the request is expired (injected)".into(),
                    ))
                }
                (false, Some(Refusal::Expired)) => {
                    return Err(Refused(
                        400,
                        "ExpiredToken",
                        "The security token included in the request is expired".into(),
                    ))
                }
                (false, Some(Refusal::InvalidToken)) => {
                    return Err(Refused(
                        403,
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.".into(),
                    ))
                }
                (false, None) => {}
            }
            let duration = validate(&form)?;
            let role_arn = &form["RoleArn"];
            let denied = || {
                Refused(
                    403,
                    "AccessDenied",
                    format!(
                        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                        caller.arn
                    ),
                )
            };
            let role = accounts.roles.get(role_arn).ok_or_else(denied)?;
            if role
                .external_id
                .as_ref()
                .is_some_and(|wanted| form.get("ExternalId") != Some(wanted))
            {
                return Err(denied());
            }
            let duration_ms = match duration {
                Some(seconds) if seconds * 1000 > role.session_duration_ms => {
                    return Err(Refused(
                        400,
                        "ValidationError",
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                            .into(),
                    ))
                }
                Some(seconds) => seconds * 1000,
                None => role.session_duration_ms.min(3_600_000),
            };
            // Whole seconds, as STS states them, so the Expiration clients read is the one enforced.
            let expiration_ms = (now_ms + duration_ms).div_euclid(1000) * 1000;
            let session = &form["RoleSessionName"];
            let account = role.account.clone();
            let arn = format!("arn:aws:sts::{account}:assumed-role/{}/{session}", role.name);
            // A role's unique id is stable: it follows from the seed and the ARN.
            let role_id = format!(
                "AROA{}",
                super::accounts::draw(accounts.seed, &[0xA201E, fnv1a64(role_arn)], 17, UPPER_DIGITS)
            );
            let access_key = format!("ASIA{}", accounts.mint(2, 16, UPPER_DIGITS));
            let secret = accounts.mint(3, 40, SECRET);
            let token = format!("IQoJb3JpZ2luX2VjE{}", accounts.mint(4, 220, SECRET));
            accounts.issued.insert(
                access_key.clone(),
                Issued {
                    account,
                    session_token: token.clone(),
                    expiration_ms,
                    arn: arn.clone(),
                },
            );
            let expiration = rfc3339(expiration_ms).replace(".000Z", "Z");
            Ok(format!(
                "<AssumeRoleResponse xmlns=\"{NAMESPACE}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <Arn>{}</Arn>\n      <AssumedRoleId>{role_id}:{}</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
                escape(&arn),
                escape(session),
                escape(&secret),
                escape(&token),
            ))
        })();
        answer(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms_and_escapes_xml() {
        let form =
            parse_form(b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&RoleSessionName=a+b")
                .unwrap();
        assert_eq!(form["RoleArn"], "arn:aws:iam::1:role/x");
        assert_eq!(form["RoleSessionName"], "a b");
        assert!(parse_form(b"A=1&A=2").is_none());
        assert!(parse_form(b"A=%zz").is_none());
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;\"c'");
    }

    #[test]
    fn validates_members_as_sts_does() {
        let form = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let Err(Refused(status, code, message)) = validate(&form(&[("RoleSessionName", "x")])) else {
            panic!("refused")
        };
        assert_eq!((status, code), (400, "ValidationError"));
        assert_eq!(
            message,
            "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        );
        let ok = form(&[
            ("RoleArn", "arn:aws:iam::111111111111:role/x"),
            ("RoleSessionName", "exporter@host"),
            ("DurationSeconds", "900"),
        ]);
        assert_eq!(validate(&ok).ok(), Some(Some(900)));
        let mut short = ok.clone();
        short.insert("DurationSeconds".into(), "60".into());
        let Err(Refused(_, _, message)) = validate(&short) else {
            panic!("refused")
        };
        assert_eq!(message, "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    }
}
