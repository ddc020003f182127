// Writes src/defiscope/deployments/aave_v3_book.py from @aave-dao/aave-address-book's dist (facts only).
// Usage: node scripts/aave_address_book.js <path to node_modules/@aave-dao/aave-address-book> > FILE
const path = require('path');
const root = process.argv[2];
const version = require(path.join(root, 'package.json')).version;
// (address-book module, registry market name); the first market of a chain is its "Core" (unsuffixed names).
const MARKETS = [
  ['AaveV3Ethereum', 'Core'], ['AaveV3EthereumLido', 'Prime'], ['AaveV3EthereumEtherFi', 'EtherFi'],
  ['AaveV3Arbitrum', 'Core'], ['AaveV3Polygon', 'Core'], ['AaveV3Avalanche', 'Core'],
  ['AaveV3Base', 'Core'], ['AaveV3Optimism', 'Core'],
];
const q = (s) => JSON.stringify(s);
const out = [];
out.push('"""Aave V3 markets on mainnet chains, as published by `@aave-dao/aave-address-book@' + version + '` (generated).');
out.push('');
out.push('Regenerate with ``node scripts/aave_address_book.js <node_modules/@aave-dao/aave-address-book> > this file``.');
out.push('Each market: its Pool, PoolAddressesProvider, AaveProtocolDataProvider, AaveOracle, PoolConfigurator and');
out.push('ACLManager, and per listed asset (address-book key, underlying, decimals, aToken, variable debt token, the');
out.push('oracle\'s price source).');
out.push('"""');
out.push('');
out.push('from __future__ import annotations');
out.push('');
out.push('from dataclasses import dataclass');
out.push('from typing import Final');
out.push('');
out.push('');
out.push('@dataclass(frozen=True, slots=True)');
out.push('class BookAsset:');
out.push('    symbol: str');
out.push('    underlying: str');
out.push('    decimals: int');
out.push('    a_token: str');
out.push('    variable_debt_token: str');
out.push('    price_source: str');
out.push('');
out.push('');
out.push('@dataclass(frozen=True, slots=True)');
out.push('class BookMarket:');
out.push('    name: str  # "Core" for a chain\'s main market');
out.push('    book_name: str  # the address book\'s module, e.g. "AaveV3EthereumLido"');
out.push('    chain_id: int');
out.push('    pool: str');
out.push('    addresses_provider: str');
out.push('    data_provider: str');
out.push('    oracle: str');
out.push('    configurator: str');
out.push('    acl_manager: str');
out.push('    assets: tuple[BookAsset, ...]');
out.push('');
out.push('');
out.push('AAVE_V3_MARKETS: Final[tuple[BookMarket, ...]] = (');
for (const [mod, name] of MARKETS) {
  const m = require(path.join(root, 'dist', mod + '.js'));
  out.push('    BookMarket(');
  out.push(`        ${q(name)},`);
  out.push(`        ${q(mod)},`);
  out.push(`        ${m.CHAIN_ID},`);
  for (const k of ['POOL', 'POOL_ADDRESSES_PROVIDER', 'AAVE_PROTOCOL_DATA_PROVIDER', 'ORACLE', 'POOL_CONFIGURATOR', 'ACL_MANAGER']) {
    out.push(`        ${q(m[k])},`);
  }
  out.push('        (');
  for (const [sym, a] of Object.entries(m.ASSETS)) {
    out.push(`            BookAsset(${q(sym)}, ${q(a.UNDERLYING)}, ${a.decimals}, ${q(a.A_TOKEN)}, ${q(a.V_TOKEN)}, ${q(a.ORACLE)}),`);
  }
  out.push('        ),');
  out.push('    ),');
}
out.push(')');
console.log(out.join('\n'));
