// panva's openid-client 6 (a certified relying party) as a judge of cliauth-mock.
//
//   node check.mjs /path/to/cliauth-mock
//
// Starts `cliauth-mock serve` on 127.0.0.1 with the config below, runs every flow its
// discovery advertises through openid-client, plus RFC 6749 negative checks made by hand, and
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

mock.kill('SIGTERM');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
