//! Entry points for the fuzz targets in `fuzz/`: each feeds arbitrary bytes to one parser of
//! untrusted input. Compiled only under `--cfg fuzzing` (cargo-fuzz sets it), so no normal or
//! shipped build contains it. Each must never panic; results are discarded on purpose.

use std::hint::black_box;
use std::path::Path;

use crate::flows::Tokens;
use crate::flows::browser::{IssuerRule, read_callback};
use crate::flows::discovery::{RawMetadata, validate};
use crate::protocol::IssuerUrl;
use crate::secret::Secret;
use crate::store::crypto::{self, StoreKey};

/// The store decoder: AEAD open with a fixed key, the state and generation parse of what it
/// opens, and the key file parser. A first byte 0 seals the rest first, so the JSON parse of
/// the state is reached too.
pub fn store_decode(data: &[u8]) {
    let key = StoreKey::fixed();
    let plain = match data.split_first() {
        Some((0, rest)) => crypto::seal(&key, rest)
            .ok()
            .and_then(|sealed| crypto::open(&key, &sealed).ok()),
        _ => crypto::open(&key, data).ok(),
    };
    if let Some(plain) = plain {
        black_box(serde_json::from_slice::<crate::store::StoredState>(&plain).is_ok());
        black_box(crate::store::recover::generation_of(&plain));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        black_box(crypto::parse_key_file(Path::new("key"), text).is_ok());
    }
}

/// A token endpoint response body: parse, validation, derived expiry and scope.
pub fn token_response(data: &[u8]) {
    if let Ok(tokens) = serde_json::from_slice::<Tokens>(data) {
        black_box(tokens.validate().is_ok());
        black_box(tokens.access_expires_at());
        black_box(tokens.refresh_expires_at());
        black_box(tokens.granted_scope(None));
    }
}

/// A discovery document (RFC 8414) for the issuer `http://127.0.0.1:1`.
pub fn discovery(data: &[u8]) {
    // allow(broad-suppress): a fuzz input that is not a discovery document is simply done
    let Ok(raw) = serde_json::from_slice::<RawMetadata>(data) else {
        return;
    };
    let issuer = url::Url::parse("http://127.0.0.1:1")
        .map(IssuerUrl::new)
        .expect("a constant URL parses");
    black_box(validate(&issuer, raw).is_ok());
}

/// A request arriving on the browser login's callback port (state `st`, issuer
/// `http://127.0.0.1:1`, required when the input's length is even).
pub fn callback_request(data: &[u8]) {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds");
    }
    let state = Secret::new("st");
    let issuer = IssuerRule {
        expected: "http://127.0.0.1:1".into(),
        required: data.len() % 2 == 0,
    };
    RT.with(|rt| {
        rt.block_on(async {
            let mut stream = tokio::io::join(data, tokio::io::sink());
            black_box(read_callback(&mut stream, &state, &issuer).await.is_ok());
        });
    });
}
