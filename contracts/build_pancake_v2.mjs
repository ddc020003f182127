// Builds PancakeSwap V2-style pair and factory artifacts from Uniswap V2 core's own sources
// (node_modules/@uniswap/v2-core/contracts) with PancakeSwap's constants, compiled by solc 0.5.16 as
// Uniswap's were. No PancakeSwap V2 bytecode is on npm; PancakeSwap's pair is this code with:
//   - the swap fee 0.25 %: balance.mul(10000).sub(amountIn.mul(25)) and K scaled by 10000**2;
//   - the protocol fee share 8/25 of the growth in sqrt(k) (rootK.mul(17).add(rootKLast.mul(8)));
//   - its LP token name and symbol ("Pancake LPs", "Cake-LP") and "Pancake:" revert strings.
// Then Uniswap V2 periphery's Router02 (solc 0.6.6, as Uniswap built it) with UniswapV2Library's constants
// changed the same way: 9975/10000 in getAmountOut/getAmountIn and this pair's init-code hash in pairFor.
// Writes contracts/artifacts/PancakeV2Factory.json, PancakeV2Pair.json and PancakeV2Router.json.
// Run: `node contracts/build_pancake_v2.mjs`.
import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const require = createRequire(join(root, "package.json"));
const solc = require("solc-0.5.16");
const solcPeriphery = require("solc-0.6.6");
const { keccak256 } = require("js-sha3");
const modules = join(root, "node_modules");
const core = join(modules, "@uniswap", "v2-core", "contracts");

// [file, exact original text, replacement]; each must match exactly once, so a changed source fails loudly.
const EDITS = [
  ["UniswapV2Pair.sol", "balance0.mul(1000).sub(amount0In.mul(3))", "balance0.mul(10000).sub(amount0In.mul(25))"],
  ["UniswapV2Pair.sol", "balance1.mul(1000).sub(amount1In.mul(3))", "balance1.mul(10000).sub(amount1In.mul(25))"],
  ["UniswapV2Pair.sol", "mul(_reserve1).mul(1000**2)", "mul(_reserve1).mul(10000**2)"],
  ["UniswapV2Pair.sol", "totalSupply.mul(rootK.sub(rootKLast));", "totalSupply.mul(rootK.sub(rootKLast)).mul(8);"],
  ["UniswapV2Pair.sol", "rootK.mul(5).add(rootKLast);", "rootK.mul(17).add(rootKLast.mul(8));"],
  ["UniswapV2ERC20.sol", "name = 'Uniswap V2'", "name = 'Pancake LPs'"],
  ["UniswapV2ERC20.sol", "symbol = 'UNI-V2'", "symbol = 'Cake-LP'"],
];

function read(relative) {
  let text = readFileSync(join(core, relative), "utf8");
  for (const [file, from, to] of EDITS) {
    if (file !== relative) continue;
    if (text.split(from).length !== 2) throw new Error(`${file}: expected exactly one "${from}"`);
    text = text.replace(from, to);
  }
  return text.replaceAll("'UniswapV2:", "'Pancake:");
}

const files = [
  ...readdirSync(core).filter((f) => f.endsWith(".sol")),
  ...readdirSync(join(core, "interfaces")).map((f) => `interfaces/${f}`),
  ...readdirSync(join(core, "libraries")).map((f) => `libraries/${f}`),
];
const sources = Object.fromEntries(files.map((f) => [f, { content: read(f) }]));

const input = {
  language: "Solidity",
  sources,
  // Uniswap V2 core's own compiler settings (its .waffle.json): istanbul, 999999 optimizer runs.
  settings: {
    optimizer: { enabled: true, runs: 999999 },
    evmVersion: "istanbul",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of errors) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

function write(name, compiler, source, c) {
  const artifact = {
    contractName: name,
    compiler: `solc ${compiler.version()}`,
    source: `${source} with PancakeSwap V2 constants (contracts/build_pancake_v2.mjs)`,
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  };
  writeFileSync(join(here, "artifacts", `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
  console.log(`${name}: ${c.evm.bytecode.object.length / 2} bytes init code`);
}

for (const [file, contract, name] of [
  ["UniswapV2Factory.sol", "UniswapV2Factory", "PancakeV2Factory"],
  ["UniswapV2Pair.sol", "UniswapV2Pair", "PancakeV2Pair"],
]) {
  write(name, solc, `@uniswap/v2-core/contracts/${file}`, output.contracts[file][contract]);
}

// ------------------------------------------------------------------ the router
const pairHash = keccak256(Buffer.from(output.contracts["UniswapV2Pair.sol"].UniswapV2Pair.evm.bytecode.object, "hex"));
console.log(`PancakeV2Pair init-code hash: 0x${pairHash}`);
const LIBRARY_EDITS = [
  ["96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f", pairHash],
  ["amountIn.mul(997)", "amountIn.mul(9975)"],
  ["reserveIn.mul(1000).add(amountInWithFee)", "reserveIn.mul(10000).add(amountInWithFee)"],
  ["reserveIn.mul(amountOut).mul(1000)", "reserveIn.mul(amountOut).mul(10000)"],
  ["reserveOut.sub(amountOut).mul(997)", "reserveOut.sub(amountOut).mul(9975)"],
];
function findPeriphery(path) {
  const prefix = "@uniswap/v2-periphery/contracts/";
  let text = readFileSync(join(modules, path), "utf8");
  if (path === `${prefix}libraries/UniswapV2Library.sol`) {
    for (const [from, to] of LIBRARY_EDITS) {
      if (text.split(from).length !== 2) throw new Error(`UniswapV2Library.sol: expected exactly one "${from}"`);
      text = text.replace(from, to);
    }
  }
  return { contents: text };
}
const routerPath = "@uniswap/v2-periphery/contracts/UniswapV2Router02.sol";
const routerInput = {
  language: "Solidity",
  sources: { [routerPath]: { content: findPeriphery(routerPath).contents } },
  settings: input.settings,
};
const routerOutput = JSON.parse(solcPeriphery.compile(JSON.stringify(routerInput), { import: findPeriphery }));
const routerErrors = (routerOutput.errors ?? []).filter((e) => e.severity === "error");
for (const e of routerErrors) console.error(e.formattedMessage);
if (routerErrors.length > 0) process.exit(1);
write("PancakeV2Router", solcPeriphery, routerPath, routerOutput.contracts[routerPath].UniswapV2Router02);
