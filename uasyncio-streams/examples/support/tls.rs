//! TLS configurations for the `tls_echo` example and the TLS tests: a
//! self-signed certificate for `localhost`, made at run time with rcgen,
//! and rustls (ring provider) server and client configurations that trust
//! exactly it.
#![allow(dead_code)]

use std::io;
use std::sync::Arc;

use futures_rustls::rustls::crypto::ring;
use futures_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use futures_rustls::{TlsAcceptor, TlsConnector};

/// The name the certificate is made for and the client checks.
pub(crate) const SERVER_NAME: &str = "localhost";

/// A server acceptor and a client connector that trust each other through
/// a fresh self-signed certificate.
pub(crate) fn pair() -> io::Result<(TlsAcceptor, TlsConnector)> {
    let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()]).map_err(io::Error::other)?;
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let provider = Arc::new(ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .map_err(io::Error::other)?;
    let mut roots = RootCertStore::empty();
    roots.add(cert).map_err(io::Error::other)?;
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((
        TlsAcceptor::from(Arc::new(server)),
        TlsConnector::from(Arc::new(client)),
    ))
}

/// The server name the client asks for.
pub(crate) fn server_name() -> ServerName<'static> {
    ServerName::try_from(SERVER_NAME).expect("a valid DNS name")
}
