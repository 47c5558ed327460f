#!/usr/bin/env node
// Completes package-lock.json after `npm install` on a machine whose npm registry mirror lacks some
// platform packages (here: DuckDB's non-Linux-x64 bindings answer 404). npm then writes a lock without
// them, and `npm ci` on a fresh machine refuses the lock as "out of sync" because the parent still lists
// them as optionalDependencies. The entries added here carry os/cpu/libc so npm ci skips them on Linux x64
// without fetching anything; their platform is read from the package name (npm's "-os-cpu[-musl]" suffix
// convention, which the platform packages we lock all follow).
//
// Usage: node scripts/complete-lock.mjs [--check]   (--check: list missing entries, exit 1 if any)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lockPath = join(root, 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));

const OSES = new Set(['darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'android']);

/** "@scope/thing-linux-arm64-musl" → { os: 'linux', cpu: 'arm64', libc: 'musl' }; null if not a platform name. */
export function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const musl = parts.at(-1) === 'musl';
  if (musl) parts.pop();
  const cpu = parts.pop();
  const os = parts.pop();
  if (!OSES.has(os)) return null;
  return { os, cpu, libc: os === 'linux' ? (musl ? 'musl' : 'glibc') : undefined };
}

const missing = [];
const out = {};
for (const [key, entry] of Object.entries(lock.packages)) {
  out[key] = entry;
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (lock.packages[depKey] || out[depKey]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      missing.push(`${dep} (not a platform package; run npm install where the registry has it)`);
      continue;
    }
    missing.push(dep);
    out[depKey] = {
      version,
      cpu: [platform.cpu],
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      optional: true,
      os: [platform.os],
    };
  }
}

if (process.argv.includes('--check')) {
  for (const m of missing) console.error(`package-lock.json: missing entry for optional dependency ${m}`);
  process.exit(missing.length ? 1 : 0);
}
lock.packages = Object.fromEntries(
  Object.entries(out).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  missing.length ? `added ${missing.length} entries: ${missing.join(', ')}` : 'package-lock.json is complete',
);
