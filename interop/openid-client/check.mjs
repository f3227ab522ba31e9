// panva's openid-client 6 (a certified relying party) as a judge of cliauth-mock.
//
//   node check.mjs /path/to/cliauth-mock
//
// Starts `cliauth-mock serve` on 127.0.0.1 with the config below, runs every flow its
// discovery advertises through openid-client (public and confidential clients, both
// client_secret_basic and client_secret_post, client_credentials), checks that openid-client
// refuses the ID tokens the mock breaks on purpose, plus RFC 6749 negative checks made by hand, and
// prints one line per check (`ok NAME` or `FAIL NAME: <the judge's own error text>`), then
// `N passed, N failed`. Exit status 1 when any check failed. Only 127.0.0.1 is contacted.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';

const mockBin = process.argv[2] || process.env.CLIAUTH_MOCK_BIN;
if (!mockBin) {
  console.error('usage: node check.mjs /path/to/cliauth-mock');
  process.exit(2);
}

const config = `
[device]
interval = 1

[[clients]]
client_id = "cliauth"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]

[[clients]]
client_id = "other-cli"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token"]

[[clients]]
client_id = "svc-basic"
client_secret = "svc-basic-secret"
token_endpoint_auth_method = "client_secret_basic"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "client_credentials"]

[[clients]]
client_id = "svc-post"
client_secret = "svc-post-secret"
token_endpoint_auth_method = "client_secret_post"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "client_credentials"]
`;
const dir = mkdtempSync(join(tmpdir(), 'cliauth-interop-'));
writeFileSync(join(dir, 'mock.toml'), config);

const mock = spawn(mockBin, ['serve', '--config', join(dir, 'mock.toml')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const ready = JSON.parse(
  await new Promise((resolve, reject) => {
    createInterface({ input: mock.stdout }).once('line', resolve);
    mock.once('exit', (code) => reject(new Error(`cliauth-mock exited with ${code} before it was ready`)));
  }),
);
const issuer = new URL(ready.issuer);
const admin = ready.admin_url;
const redirectUri = 'http://127.0.0.1:53682/callback';

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok ${name}`);
  } catch (e) {
    failed += 1;
    // The judge's own words, down the cause chain (oauth4webapi nests the precise reason).
    // Only error messages: a non-error cause can be a whole token response, secrets included.
    const words = [];
    for (let c = e; c instanceof Error && words.length < 4; c = c.cause) {
      words.push(`${c.code ? `${c.code}: ` : ''}${c.message}`);
    }
    console.log(`FAIL ${name}: ${words.join(' <- ')}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const insecure = { execute: [client.allowInsecureRequests] };
let cfg;
const tokens = {};

await check('discovery (OpenID Connect Discovery 1.0)', async () => {
  cfg = await client.discovery(issuer, 'cliauth', undefined, client.None(), insecure);
  const m = cfg.serverMetadata();
  for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri',
    'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']) {
    expect(m[field] !== undefined, `discovery has no ${field} (OIDC Discovery §3 requires it)`);
  }
});

await check('device authorization grant (RFC 8628)', async () => {
  const started = await client.initiateDeviceAuthorization(cfg, { scope: 'openid' });
  const approved = await fetch(`${admin}/device/approve`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: started.user_code }),
  });
  expect(approved.ok, `the mock's admin API refused the approval: ${approved.status}`);
  const result = await client.pollDeviceAuthorizationGrant(cfg, started);
  expect(result.access_token, 'no access token');
  tokens.device = result;
});

async function authorize(params) {
  const url = client.buildAuthorizationUrl(cfg, params);
  const resp = await fetch(url, { redirect: 'manual' });
  const location = resp.headers.get('location');
  return { status: resp.status, location, body: location ? '' : await resp.text() };
}

await check('authorization code + PKCE + nonce (OIDC Core §3.1)', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const { location, status, body } = await authorize({
    redirect_uri: redirectUri, scope: 'openid', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  expect(location, `authorize answered ${status} without a redirect: ${body.slice(0, 200)}`);
  const result = await client.authorizationCodeGrant(cfg, new URL(location), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  tokens.code = result;
  expect(result.claims()?.sub, 'the ID token has no sub');
});

await check('refresh (RFC 6749 §6)', async () => {
  const rt = tokens.code?.refresh_token || tokens.device?.refresh_token;
  expect(rt, 'no refresh token to refresh with');
  const result = await client.refreshTokenGrant(cfg, rt);
  expect(result.access_token, 'no access token');
  tokens.refreshed = result;
});

await check('userinfo (OIDC Core §5.3)', async () => {
  const at = tokens.refreshed?.access_token || tokens.code?.access_token || tokens.device?.access_token;
  expect(at, 'no access token to call userinfo with');
  const sub = tokens.code?.claims()?.sub ?? client.skipSubjectCheck;
  const info = await client.fetchUserInfo(cfg, at, sub);
  expect(info.sub, 'userinfo has no sub (OIDC Core §5.3.2 requires it)');
});

await check('introspection (RFC 7662) reports a live token active', async () => {
  const at = tokens.device?.access_token || tokens.code?.access_token;
  expect(at, 'no access token to introspect');
  const info = await client.tokenIntrospection(cfg, at);
  expect(info.active === true, `introspection says active=${info.active}`);
});

await check('revocation (RFC 7009), then introspection reports it inactive', async () => {
  const rt = tokens.refreshed?.refresh_token || tokens.code?.refresh_token || tokens.device?.refresh_token;
  expect(rt, 'no refresh token to revoke');
  await client.tokenRevocation(cfg, rt);
  const info = await client.tokenIntrospection(cfg, rt);
  expect(info.active === false, `after revocation introspection says active=${info.active}`);
});

await check('an unregistered redirect URI is never redirected to (RFC 6749 §4.1.2.1)', async () => {
  const { status, location } = await authorize({
    redirect_uri: 'http://attacker.invalid/callback', scope: 'openid', state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  expect(!location || !location.startsWith('http://attacker.invalid'), `redirected to ${location}`);
  expect(status >= 400, `answered ${status}`);
});

await check('a code redeemed with another redirect URI is refused (RFC 6749 §4.1.3)', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const { location } = await authorize({
    redirect_uri: redirectUri, scope: 'openid', state: 's',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  expect(location, 'no code');
  const code = new URL(location).searchParams.get('code');
  const resp = await fetch(cfg.serverMetadata().token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, client_id: 'cliauth', code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:1/other',
    }),
  });
  const body = await resp.json();
  expect(resp.status === 400 && body.error === 'invalid_grant', `answered ${resp.status} ${JSON.stringify(body)}`);
});

await check("another client's refresh token is refused (RFC 6749 §6)", async () => {
  const verifier = client.randomPKCECodeVerifier();
  const { location } = await authorize({
    redirect_uri: redirectUri, scope: 'openid', state: 's',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const code = new URL(location).searchParams.get('code');
  const mine = await (await fetch(cfg.serverMetadata().token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: 'cliauth', code_verifier: verifier, redirect_uri: redirectUri }),
  })).json();
  expect(mine.refresh_token, `no refresh token: ${JSON.stringify(Object.keys(mine))}`);
  const resp = await fetch(cfg.serverMetadata().token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: mine.refresh_token, client_id: 'other-cli' }),
  });
  const body = await resp.json();
  expect(resp.status === 400 && body.error === 'invalid_grant', `answered ${resp.status} ${JSON.stringify(body)}`);
});

// Confidential clients (RFC 6749 §2.3.1): the code flow with the ID token checked by
// openid-client, then refresh, authenticated the way each client is registered.
async function codeFlow(conf) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: redirectUri, scope: 'openid', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const resp = await fetch(url, { redirect: 'manual' });
  const location = resp.headers.get('location');
  expect(location, `authorize answered ${resp.status} without a redirect`);
  return client.authorizationCodeGrant(conf, new URL(location), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
}

const confidential = {};
for (const [id, secret, auth] of [
  ['svc-basic', 'svc-basic-secret', client.ClientSecretBasic],
  ['svc-post', 'svc-post-secret', client.ClientSecretPost],
]) {
  const method = auth === client.ClientSecretBasic ? 'client_secret_basic' : 'client_secret_post';
  await check(`confidential client, ${method}: code flow with ID token, then refresh`, async () => {
    const conf = await client.discovery(issuer, id, undefined, auth(secret), insecure);
    const result = await codeFlow(conf);
    expect(result.claims()?.aud === id, `the ID token's aud is ${result.claims()?.aud}`);
    expect(result.refresh_token, 'no refresh token');
    const refreshed = await client.refreshTokenGrant(conf, result.refresh_token);
    expect(refreshed.access_token, 'no access token from the refresh');
    confidential[id] = { conf, refreshed };
  });
}

await check('a confidential client without authentication gets 401 invalid_client (RFC 6749 §2.3, §6)', async () => {
  const rt = confidential['svc-basic']?.refreshed?.refresh_token;
  expect(rt, 'no refresh token of the confidential client');
  const unauthenticated = await client.discovery(issuer, 'svc-basic', undefined, client.None(), insecure);
  let refused;
  try {
    await client.refreshTokenGrant(unauthenticated, rt);
  } catch (e) {
    refused = e;
  }
  expect(refused, 'the refresh succeeded without client authentication');
  // oauth4webapi reports a 401 with a WWW-Authenticate challenge as WWWAuthenticateChallengeError,
  // other error bodies as ResponseBodyError (with .error).
  let error = refused.error;
  if (error === undefined && refused.response) {
    error = (await refused.response.json().catch(() => ({}))).error;
  }
  expect(refused.status === 401 && error === 'invalid_client',
    `refused with ${refused.status} ${error} (${refused.code}: ${refused.message})`);
});

await check('client_credentials (RFC 6749 §4.4), no refresh token', async () => {
  const conf = confidential['svc-post']?.conf;
  expect(conf, 'no configuration of the confidential client');
  const result = await client.clientCredentialsGrant(conf, { scope: 'sync' });
  expect(result.access_token, 'no access token');
  expect(result.refresh_token === undefined, 'a refresh token came with client_credentials (§4.4.3 says no)');
  const info = await client.tokenIntrospection(conf, result.access_token);
  expect(info.active === true && info.client_id === 'svc-post', `introspection says ${JSON.stringify(info)}`);
});

// The fault knob (`[openid] id_token_fault`): openid-client must refuse each broken ID token
// (OIDC Core §3.1.3.7). bad_signature is not here: openid-client, like OIDC Core §3.1.3.7
// step 6 allows, does not verify the signature of an ID token received straight from the
// token endpoint over TLS; the authlib judge verifies it against the JWKS.
for (const fault of ['wrong_nonce', 'wrong_aud', 'wrong_iss', 'expired']) {
  await check(`openid-client refuses an ID token with fault ${fault}`, async () => {
    const put = await fetch(`${admin}/config`, {
      method: 'PUT', headers: { 'content-type': 'application/toml' },
      body: `${config}\n[openid]\nid_token_fault = "${fault}"\n`,
    });
    expect(put.ok, `the mock's admin API refused the config: ${put.status} ${await put.text()}`);
    let refused;
    try {
      await codeFlow(cfg);
    } catch (e) {
      refused = e;
    }
    expect(refused, `openid-client accepted an ID token with ${fault}`);
    expect(String(refused.code).startsWith('OAUTH_JWT'), `refused, but not for the ID token: ${refused.code}: ${refused.message}`);
    console.log(`   (openid-client: ${refused.code}: ${refused.message})`);
  });
}

mock.kill('SIGTERM');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
