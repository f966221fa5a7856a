//! TLS and basic auth for the HTTP server, from a web-config YAML file in the format of the
//! Prometheus exporter-toolkit (`--web.config.file`), so operators reuse what they already have:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/gamelift-exporter/tls.crt
//!   key_file: /etc/gamelift-exporter/tls.key
//!   # Mutual TLS: only clients with a certificate signed by this CA are served.
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: /etc/gamelift-exporter/clients-ca.crt
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt hash, e.g. from `htpasswd -nBC 10 "" | tr -d ':\n'`
//! ```

use crate::tomlfile::FileError;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

/// Password checks (bcrypt, slow on purpose) running at once; more are refused with 429 rather
/// than queued, so a flood of bad passwords costs at most this many cores.
pub const MAX_PASSWORD_CHECKS: usize = 1;
/// Verified credentials skip bcrypt for this long after their last use.
const VERIFIED_FOR: Duration = Duration::from_secs(300);
/// At most this many verified credentials are remembered.
const MAX_VERIFIED: usize = 64;

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
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    min_version: Option<String>,
}

/// `tls_server_config.client_auth_type`, as exporter-toolkit maps it to Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// `NoClientCert` (the default): no certificate is asked for.
    None,
    /// `RequestClientCert`: asked for, not required, not verified.
    Request,
    /// `RequireAnyClientCert` (or its old name `RequireClientCert`): required, not verified.
    RequireAny,
    /// `VerifyClientCertIfGiven`: not required; when given, it must chain to `client_ca_file`.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: required, and it must chain to `client_ca_file`.
    RequireAndVerify,
}

impl ClientAuth {
    const NAMES: &'static str = "NoClientCert, RequestClientCert, RequireAnyClientCert, \
                                 VerifyClientCertIfGiven or RequireAndVerifyClientCert";

    fn parse(name: Option<&str>) -> Option<ClientAuth> {
        Some(match name.unwrap_or("") {
            "" | "NoClientCert" => ClientAuth::None,
            "RequestClientCert" => ClientAuth::Request,
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
            _ => return None,
        })
    }

    fn verifies(self) -> bool {
        matches!(self, ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify)
    }
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
    /// Checked for unknown users, so that an unknown user costs the same bcrypt as a known one
    /// and timing does not tell which usernames exist (as exporter-toolkit does).
    dummy_hash: String,
    /// Credentials verified recently, keyed by a hash of the whole `Authorization` value under
    /// a per-process random key (the credentials themselves are not kept): bcrypt runs once per
    /// credential rather than once per scrape.
    verified: Mutex<HashMap<u64, Instant>>,
    hasher: std::collections::hash_map::RandomState,
    checks_running: Arc<AtomicUsize>,
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
    /// Too many password checks at once: try again shortly (429).
    Busy,
}

/// A password check that holds one of the [`MAX_PASSWORD_CHECKS`] slots; run it off the I/O
/// threads with [`PasswordCheck::run`].
pub struct PasswordCheck {
    web: Arc<WebConfig>,
    key: u64,
    user: String,
    password: String,
}

impl PasswordCheck {
    /// Runs bcrypt (against the dummy hash for an unknown user) and remembers a success.
    pub fn run(self) -> Access {
        let known = self.web.users.get(&self.user);
        let hash = known.unwrap_or(&self.web.dummy_hash);
        let matches = bcrypt::verify(&self.password, hash).unwrap_or(false);
        if known.is_some() && matches {
            let mut verified = self.web.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.len() >= MAX_VERIFIED {
                verified.retain(|_, at| at.elapsed() < VERIFIED_FOR);
            }
            if verified.len() < MAX_VERIFIED {
                verified.insert(self.key, Instant::now());
            }
            Access::Allowed
        } else {
            Access::Denied
        }
    }
}

impl Drop for PasswordCheck {
    fn drop(&mut self) {
        self.web.checks_running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The first step of checking a request: done at once, or a password check to run.
pub enum Check {
    Done(Access),
    Password(PasswordCheck),
}

impl WebConfig {
    /// No TLS, no authentication.
    pub fn open() -> WebConfig {
        WebConfig::new(None, BTreeMap::new())
    }

    fn new(tls: Option<Arc<rustls::ServerConfig>>, users: BTreeMap<String, String>) -> WebConfig {
        // The dummy costs what the configured hashes cost (their bcrypt cost factor).
        let cost = users
            .values()
            .find_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map_or(bcrypt::DEFAULT_COST, |parts| parts.get_cost());
        let dummy_hash = if users.is_empty() {
            String::new()
        } else {
            bcrypt::hash("not a password of anyone", cost).unwrap_or_default()
        };
        WebConfig {
            tls,
            users,
            dummy_hash,
            verified: Mutex::new(HashMap::new()),
            hasher: std::collections::hash_map::RandomState::new(),
            checks_running: Arc::new(AtomicUsize::new(0)),
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
                let Some(client_auth) = ClientAuth::parse(tls.client_auth_type.as_deref()) else {
                    return Err(error(
                        "tls_server_config.client_auth_type",
                        format!(
                            "unknown value {:?}: expected {}",
                            tls.client_auth_type.unwrap_or_default(),
                            ClientAuth::NAMES
                        ),
                    ));
                };
                match (&tls.client_ca_file, client_auth) {
                    (Some(_), ClientAuth::None) => {
                        return Err(error(
                            "tls_server_config.client_ca_file",
                            "set, but client_auth_type is NoClientCert: no client certificate is \
                             asked for (set client_auth_type: RequireAndVerifyClientCert)"
                                .into(),
                        ))
                    }
                    (None, auth) if auth.verifies() => {
                        return Err(error(
                            "tls_server_config.client_ca_file",
                            format!(
                                "required with client_auth_type {}: the CA that signs the \
                                 client certificates",
                                tls.client_auth_type.unwrap_or_default()
                            ),
                        ))
                    }
                    _ => {}
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
                let client_ca = tls.client_ca_file.map(|f| base.join(f));
                Some(Arc::new(server_config(
                    &base.join(cert_file),
                    &base.join(key_file),
                    versions,
                    client_auth,
                    client_ca.as_deref(),
                    path,
                )?))
            }
        };
        Ok(WebConfig::new(tls, raw.basic_auth_users))
    }

    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks a request's `Authorization` header: at once when it is missing, malformed or was
    /// verified recently; otherwise a password check to run off the I/O threads, or `Busy`
    /// when [`MAX_PASSWORD_CHECKS`] are already running.
    pub fn check(self: &Arc<Self>, authorization: Option<&str>) -> Check {
        if self.users.is_empty() {
            return Check::Done(Access::Allowed);
        }
        let Some(header) = authorization else {
            return Check::Done(Access::Denied);
        };
        let key = self.hasher.hash_one(header);
        if let Some(at) = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&key)
            .filter(|at| at.elapsed() < VERIFIED_FOR)
        {
            *at = Instant::now();
            return Check::Done(Access::Allowed);
        }
        let Some((user, password)) = header
            .strip_prefix("Basic ")
            .and_then(|encoded| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
            })
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|decoded| {
                decoded
                    .split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
        else {
            return Check::Done(Access::Denied);
        };
        let taken = self
            .checks_running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_PASSWORD_CHECKS).then_some(n + 1)
            });
        if taken.is_err() {
            return Check::Done(Access::Busy);
        }
        Check::Password(PasswordCheck {
            web: self.clone(),
            key,
            user,
            password,
        })
    }
}

/// `RequestClientCert` and `RequireAnyClientCert`: any certificate is taken, whoever signed it
/// (as Go's `tls.RequestClientCert` and `tls.RequireAnyClientCert` do); the client must still
/// prove it holds the certificate's key (the handshake signature is checked).
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    /// The subjects of `client_ca_file`, if any, sent as hints in the certificate request.
    hints: Vec<rustls::DistinguishedName>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::server::danger::ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client-certificate policy of `client_auth_type`, with the CAs of `client_ca_file`.
fn client_verifier(
    client_auth: ClientAuth,
    client_ca: Option<&Path>,
    provider: &Arc<rustls::crypto::CryptoProvider>,
    web_config: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, FileError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let error = |message: String| {
        FileError::whole_file(web_config, Some("tls_server_config.client_ca_file"), message)
    };
    let mut roots = rustls::RootCertStore::empty();
    if let Some(file) = client_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| error(format!("cannot read certificates from {}: {e}", file.display())))?;
        if certs.is_empty() {
            return Err(error(format!("no certificate found in {}", file.display())));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| error(format!("{}: not a usable CA certificate: {e}", file.display())))?;
        }
    }
    let verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> = match client_auth {
        ClientAuth::None => rustls::server::WebPkiClientVerifier::no_client_auth(),
        ClientAuth::Request | ClientAuth::RequireAny => Arc::new(AnyClientCert {
            mandatory: client_auth == ClientAuth::RequireAny,
            hints: roots.subjects(),
            provider: provider.clone(),
        }),
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            );
            let builder = if client_auth == ClientAuth::VerifyIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| error(format!("cannot verify client certificates: {e}")))?
        }
    };
    Ok(verifier)
}

fn server_config(
    cert_file: &Path,
    key_file: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
    client_auth: ClientAuth,
    client_ca: Option<&Path>,
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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = client_verifier(client_auth, client_ca, &provider, web_config)?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| error("tls_server_config.min_version", e.to_string()))?
        .with_client_cert_verifier(verifier)
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

    fn decide(web: &Arc<WebConfig>, header: Option<&str>) -> Access {
        match web.check(header) {
            Check::Done(access) => access,
            Check::Password(check) => check.run(),
        }
    }

    #[test]
    fn basic_auth_checks_bcrypt_caches_and_refuses_a_second_check_at_once() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let web = Arc::new(WebConfig::new(None, BTreeMap::from([("prom".to_string(), hash)])));
        let header = |user: &str, password: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        };
        assert_eq!(decide(&web, Some(&header("prom", "s3cret"))), Access::Allowed);
        // Cached: no password check needed.
        assert!(matches!(
            web.check(Some(&header("prom", "s3cret"))),
            Check::Done(Access::Allowed)
        ));
        assert_eq!(decide(&web, Some(&header("prom", "wrong"))), Access::Denied);
        assert_eq!(decide(&web, Some(&header("other", "s3cret"))), Access::Denied);
        assert_eq!(decide(&web, Some("Bearer x")), Access::Denied);
        assert_eq!(decide(&web, None), Access::Denied);
        assert_eq!(decide(&Arc::new(WebConfig::open()), None), Access::Allowed);
        // The dummy hash has the cost of the configured ones.
        assert_eq!(web.dummy_hash.parse::<bcrypt::HashParts>().unwrap().get_cost(), 4);
        // While one check runs, another is refused rather than queued.
        let Check::Password(running) = web.check(Some(&header("prom", "nope"))) else {
            panic!("a password check")
        };
        assert!(matches!(
            web.check(Some(&header("prom", "other"))),
            Check::Done(Access::Busy)
        ));
        assert_eq!(running.run(), Access::Denied);
        assert!(matches!(
            web.check(Some(&header("prom", "other"))),
            Check::Password(_)
        ));
    }
}
