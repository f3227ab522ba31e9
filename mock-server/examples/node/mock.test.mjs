// Example: a node:test suite against cliauth-mock (run: node --test mock-server/examples/node/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startMock } from "./cliauth-mock.mjs";

let mock;
before(async () => { mock = await startMock(); });
after(async () => { await mock.stop(); });

const token = (form) =>
  fetch(`${mock.url}/oauth/token`, { method: "POST", body: new URLSearchParams(form) });

test("discovery names the token endpoint", async () => {
  const res = await fetch(`${mock.url}/.well-known/oauth-authorization-server`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).token_endpoint, `${mock.url}/oauth/token`);
});

test("password grant, then a refresh, is journaled without secrets", async () => {
  const login = await token({ grant_type: "password", client_id: "cliauth", username: "alice", password: "alice-password" });
  assert.equal(login.status, 200);
  const pair = await login.json();
  const refreshed = await token({ grant_type: "refresh_token", client_id: "cliauth", refresh_token: pair.refresh_token });
  assert.equal(refreshed.status, 200);
  const journal = await mock.journal();
  assert.equal(journal.counters["POST /oauth/token refresh_token 200"], 1);
  assert.ok(!JSON.stringify(journal).includes(pair.refresh_token));
  assert.ok((await mock.secrets()).secrets.includes(pair.refresh_token));
});

test("a fault rule makes the next refresh fail with 503", async () => {
  await mock.addRule({ name: "down", times: 1, match: { path: "/oauth/token" }, action: { kind: "catalog", name: "unavailable" } });
  const res = await token({ grant_type: "password", client_id: "cliauth", username: "bob", password: "bob-password" });
  assert.equal(res.status, 503);
});

test("the clock moves: an access token expires", async () => {
  const pair = await (await token({ grant_type: "password", client_id: "cliauth", username: "alice", password: "alice-password" })).json();
  const me = () => fetch(`${mock.url}/api/v1/me`, { headers: { authorization: `Bearer ${pair.access_token}` } });
  assert.equal((await me()).status, 200);
  await mock.advanceClock(3601);
  assert.equal((await me()).status, 401);
});
