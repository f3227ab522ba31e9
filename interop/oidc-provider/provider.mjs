// panva's oidc-provider (certified OpenID provider) on 127.0.0.1, configured as a hosted
// service's authorization server would be for a native CLI: a public client with PKCE and a
// loopback redirect (RFC 8252), device flow (RFC 8628), refresh tokens (offline_access),
// revocation (RFC 7009), introspection (RFC 7662) and dynamic registration (RFC 7591).
//
// Prints one JSON line when ready: {"issuer": "...", "client_id": "...", "introspection_client": {...}}.
// Environment: ACCESS_TTL (seconds, default 60). Exits when stdin closes, so a killed test
// run leaves no provider behind. Only ever listens on 127.0.0.1.
import http from 'node:http';
import Provider from 'oidc-provider';

const accessTtl = Number(process.env.ACCESS_TTL || 60);

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: [
    {
      // The CLI: public, native, loopback redirect on any port (RFC 8252 §7.3).
      client_id: 'cliauth-interop',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    },
    {
      // A resource server that asks whether a token is still active (RFC 7662).
      client_id: 'interop-resource-server',
      client_secret: 'interop-resource-server-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: {
      enabled: true,
      // The resource server may introspect any client's tokens; the CLI only its own.
      allowedPolicy: async (ctx, client, token) =>
        client.clientId === 'interop-resource-server' || token.clientId === client.clientId,
    },
    registration: { enabled: true },
  },
  ttl: {
    AccessToken: accessTtl,
    DeviceCode: 600,
    RefreshToken: 3600,
    Grant: 3600,
    Session: 3600,
    Interaction: 600,
    IdToken: 3600,
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: sub }),
  }),
  // Only this process's test runs use these cookies; they protect nothing.
  cookies: { keys: ['cliauth-interop-only'] },
};

const provider = new Provider(issuer, configuration);
server.on('request', provider.callback());

process.stdout.write(
  `${JSON.stringify({
    issuer,
    client_id: 'cliauth-interop',
    introspection_client: { id: 'interop-resource-server', secret: 'interop-resource-server-secret' },
  })}\n`,
);

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
