// Compiles V3MathHarness.sol with solc 0.7.6 (npm alias solc-0.7.6) and prints {abi, bytecode} as JSON.
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = process.argv[2] ?? resolve(here, "../../..");
const require = createRequire(join(root, "package.json"));
const solc = require("solc-0.7.6");
const input = {
  language: "Solidity",
  sources: { "V3MathHarness.sol": { content: readFileSync(join(here, "V3MathHarness.sol"), "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { V3MathHarness: ["abi", "evm.bytecode.object"] } },
  },
};
function findImports(path) {
  const full = join(root, "node_modules", path);
  return existsSync(full) ? { contents: readFileSync(full, "utf8") } : { error: `not found: ${path}` };
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const c = output.contracts["V3MathHarness.sol"].V3MathHarness;
console.log(JSON.stringify({ abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }));
