//! TLS to PostgreSQL as libpq users write it in the URL: `sslmode` (`disable`, `allow`,
//! `prefer`, `require`, `verify-ca`, `verify-full`) and `sslrootcert=FILE`. tokio-postgres
//! knows only disable/prefer/require and no root certificate, so the two parameters are taken
//! out of the URL here and become a rustls configuration:
//! - `verify-full`: the chain up to `sslrootcert` and the host name;
//! - `verify-ca`: the chain up to `sslrootcert`, any host name;
//! - `require` (and `prefer`, `allow`): encrypted; verified like `verify-ca` when `sslrootcert`
//!   is given, else not verified (libpq's meaning of `require`).
//!
//! `pg_dump`/`pg_restore` get the URL unchanged: libpq reads both parameters itself.

use crate::{Result, StoreError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A database URL without `sslmode`/`sslrootcert`, and what they asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Split {
    pub url: String,
    pub mode: Mode,
    pub root: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL (or key=value string's
/// query part). Without `sslmode` libpq's default is `prefer`; Quartier keeps the plain
/// connection then (a local server), as before.
pub(crate) fn split(url: &str) -> Result<Split> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = None;
    let mut root = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = Some(match v {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(StoreError::Backend(format!(
                            "sslmode={other} unbekannt: erlaubt sind disable, allow, prefer, require, verify-ca, verify-full"
                        )));
                    }
                })
            }
            "sslrootcert" => root = Some(percent_decode(v)),
            _ => rest.push(pair.to_string()),
        }
    }
    let mode = mode.unwrap_or(Mode::Disable);
    if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && root.is_none() {
        return Err(StoreError::Backend(
            "sslmode=verify-ca/verify-full braucht sslrootcert=DATEI (das CA-Zertifikat des Servers, PEM)".into(),
        ));
    }
    let tls = match mode {
        Mode::Disable => "disable",
        Mode::Prefer => "prefer",
        _ => "require",
    };
    rest.push(format!("sslmode={tls}"));
    Ok(Split { url: format!("{base}?{}", rest.join("&")), mode, root })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Connects with the TLS the URL asks for.
pub(crate) fn connect(url: &str) -> Result<postgres::Client> {
    let s = split(url)?;
    if s.mode == Mode::Disable {
        return Ok(postgres::Client::connect(&s.url, postgres::NoTls)?);
    }
    // ring rather than aws-lc-rs: no C/cmake build; post-quantum key exchange is not needed for
    // the link to the database server.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS: {e}")))?;
    let config = match &s.root {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| StoreError::Backend(format!("sslrootcert={path}: nicht lesbar ({e})")))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| StoreError::Backend(format!("sslrootcert={path}: kein PEM-Zertifikat ({e})")))?;
            if certs.is_empty() {
                return Err(StoreError::Backend(format!("sslrootcert={path}: enthält kein Zertifikat")));
            }
            for c in certs {
                roots.add(c).map_err(|e| StoreError::Backend(format!("sslrootcert={path}: {e}")))?;
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| StoreError::Backend(format!("TLS: {e}")))?;
            if s.mode == Mode::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyName(webpki))).with_no_client_auth()
            }
        }
        None => builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))).with_no_client_auth(),
    };
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    Ok(postgres::Client::connect(&s.url, tls)?)
}

/// `verify-ca`: the chain must lead to the root; the name may be any.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without a root: encrypted, the certificate not checked (libpq's meaning). The
/// handshake signatures are still verified, so the key exchange is with the certificate's key.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_are_taken_out() {
        let s = split("postgres://u:p@db.kreis.de/q?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x").unwrap();
        assert_eq!((s.mode, s.root.as_deref()), (Mode::VerifyFull, Some("/etc/ca.pem")));
        assert_eq!(s.url, "postgres://u:p@db.kreis.de/q?application_name=x&sslmode=require");
        assert_eq!(split("postgres://h/q").unwrap().url, "postgres://h/q?sslmode=disable");
        assert_eq!(split("postgres://h/q?sslmode=prefer").unwrap().mode, Mode::Prefer);
        assert!(split("postgres://h/q?sslmode=verify-full").unwrap_err().to_string().contains("sslrootcert"));
        assert!(split("postgres://h/q?sslmode=sicher").unwrap_err().to_string().contains("verify-full"));
    }
}
