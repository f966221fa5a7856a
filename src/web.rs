//! TLS and basic auth for the HTTP server, from a web-config YAML file in the format of the
//! Prometheus exporter-toolkit (`--web.config.file`), so operators reuse what they already have:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/gamelift-exporter/tls.crt
//!   key_file: /etc/gamelift-exporter/tls.key
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt hash, e.g. from `htpasswd -nBC 10 "" | tr -d ':\n'`
//! ```

use crate::tomlfile::FileError;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    http2: Option<bool>,
}

/// The validated web config: an optional TLS acceptor config and basic-auth users.
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    users: BTreeMap<String, String>,
    /// `Authorization` header values already verified, so bcrypt (slow on purpose) runs once
    /// per credential rather than once per scrape.
    verified: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What a request's credentials amount to.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
}

impl WebConfig {
    /// No TLS, no authentication.
    pub fn open() -> WebConfig {
        WebConfig {
            tls: None,
            users: BTreeMap::new(),
            verified: Mutex::new(HashSet::new()),
        }
    }

    pub fn load(path: &Path) -> Result<WebConfig, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::whole_file(path, None, format!("cannot read web config: {e}")))?;
        let deserializer = yaml_serde::Deserializer::from_str(&text);
        let raw: RawWebConfig = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let field = err.path().to_string();
            let inner = err.into_inner();
            let position = inner.location().map(|l| (l.line(), l.column()));
            let mut message = inner.to_string();
            // the YAML parser appends " at line L column C" and may prefix the field path; both are
            // already in front of the message.
            if let Some(cut) = message.find(" at line ") {
                message.truncate(cut);
            }
            if let Some(rest) = message.strip_prefix(&format!("{field}: ")) {
                message = rest.to_string();
            }
            FileError {
                file: path.to_path_buf(),
                position,
                field: (field != "." && field != "?" && !field.is_empty()).then_some(field),
                message,
            }
        })?;
        let error = |field: &str, message: String| FileError::whole_file(path, Some(field), message);
        if raw.http_server_config.as_ref().and_then(|h| h.http2).is_some() {
            return Err(error(
                "http_server_config.http2",
                "not supported: the exporter serves HTTP/1.1".into(),
            ));
        }
        for (user, hash) in &raw.basic_auth_users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(error(
                    &format!("basic_auth_users.{user}"),
                    "not a bcrypt hash: expected \"$2y$...\" (htpasswd -nBC 10)".into(),
                ));
            }
        }
        let base = path.parent().unwrap_or(Path::new(""));
        let tls = match raw.tls_server_config {
            None => None,
            Some(tls) => {
                if let Some(kind) = tls.client_auth_type.as_deref().filter(|k| *k != "NoClientCert") {
                    return Err(error(
                        "tls_server_config.client_auth_type",
                        format!("{kind:?} is not supported: only NoClientCert"),
                    ));
                }
                let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version.as_deref() {
                    None | Some("TLS12") => rustls::ALL_VERSIONS,
                    Some("TLS13") => &[&rustls::version::TLS13],
                    Some(other) => {
                        return Err(error(
                            "tls_server_config.min_version",
                            format!("unsupported version {other:?}: expected TLS12 or TLS13"),
                        ))
                    }
                };
                let (Some(cert_file), Some(key_file)) = (tls.cert_file, tls.key_file) else {
                    return Err(error(
                        "tls_server_config",
                        "cert_file and key_file are both required".into(),
                    ));
                };
                Some(Arc::new(server_config(
                    &base.join(cert_file),
                    &base.join(key_file),
                    versions,
                    path,
                )?))
            }
        };
        Ok(WebConfig {
            tls,
            users: raw.basic_auth_users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks a request's `Authorization` header against the configured users.
    pub fn check(&self, authorization: Option<&str>) -> Access {
        if self.users.is_empty() {
            return Access::Allowed;
        }
        let Some(header) = authorization else {
            return Access::Denied;
        };
        if self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(header)
        {
            return Access::Allowed;
        }
        let Some(encoded) = header.strip_prefix("Basic ") else {
            return Access::Denied;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return Access::Denied;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return Access::Denied;
        };
        let Some((user, password)) = decoded.split_once(':') else {
            return Access::Denied;
        };
        let Some(hash) = self.users.get(user) else {
            return Access::Denied;
        };
        if bcrypt::verify(password, hash).unwrap_or(false) {
            let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.len() < 64 {
                verified.insert(header.to_string());
            }
            Access::Allowed
        } else {
            Access::Denied
        }
    }
}

fn server_config(
    cert_file: &Path,
    key_file: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
    web_config: &Path,
) -> Result<rustls::ServerConfig, FileError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let error = |field: &str, message: String| FileError::whole_file(web_config, Some(field), message);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            error(
                "tls_server_config.cert_file",
                format!("cannot read certificates from {}: {e}", cert_file.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(error(
            "tls_server_config.cert_file",
            format!("no certificate found in {}", cert_file.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        error(
            "tls_server_config.key_file",
            format!("cannot read a private key from {}: {e}", key_file.display()),
        )
    })?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|e| error("tls_server_config.min_version", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            error(
                "tls_server_config",
                format!("certificate and key do not form a usable pair: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_checks_bcrypt_and_caches() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let web = WebConfig {
            tls: None,
            users: BTreeMap::from([("prom".to_string(), hash)]),
            verified: Mutex::new(HashSet::new()),
        };
        let header = |user: &str, password: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        };
        assert_eq!(web.check(Some(&header("prom", "s3cret"))), Access::Allowed);
        assert_eq!(web.check(Some(&header("prom", "s3cret"))), Access::Allowed);
        assert_eq!(web.check(Some(&header("prom", "wrong"))), Access::Denied);
        assert_eq!(web.check(Some(&header("other", "s3cret"))), Access::Denied);
        assert_eq!(web.check(Some("Bearer x")), Access::Denied);
        assert_eq!(web.check(None), Access::Denied);
        assert_eq!(WebConfig::open().check(None), Access::Allowed);
    }
}
