#!/usr/bin/env -S node --max-semi-space-size=2 --expose-gc
// Entry point. Runs the compiled JavaScript in dist/ when it is at least as new
// as every source file (npm run build), otherwise the TypeScript sources
// through tsx, so a stale build is never run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.built');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let entry;
if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(join(root, 'src'))) {
  entry = join(root, 'dist', 'cli', 'main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src', 'cli', 'main.ts');
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
