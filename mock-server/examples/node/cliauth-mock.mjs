// A small helper to run cliauth-mock from node tests: spawn, read the readiness line, talk to
// the admin API. The mock runs with --exit-with-parent, so a killed test run leaves nothing.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Starts `cliauth-mock serve` (binary: $CLIAUTH_MOCK_BIN or `cliauth-mock` on PATH). */
export async function startMock({ bin = process.env.CLIAUTH_MOCK_BIN ?? "cliauth-mock", args = [] } = {}) {
  // stdin stays a pipe: the mock exits when it closes (this process ending included).
  const child = spawn(bin, ["serve", "--port", "0", "--exit-with-parent", ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ready = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`cliauth-mock exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line)));
  });
  const admin = async (method, path, body) => {
    const res = await fetch(`${ready.admin_url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} /__admin${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    ...ready,
    admin,
    approveDevice: (userCode) => admin("POST", "/device/approve", userCode ? { user_code: userCode } : {}),
    addRule: (rule) => admin("POST", "/rules", rule),
    advanceClock: (seconds) => admin("POST", "/clock/advance", { seconds }),
    journal: () => admin("GET", "/journal"),
    secrets: () => admin("GET", "/secrets"),
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      await exited;
    },
  };
}
