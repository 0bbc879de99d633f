#!/usr/bin/env node
// The `pteron` command: the compiled CLI under dist/ (`npm run build` writes it).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('pteron: the build is missing (dist/cli/main.js); run `npm run build` first\n');
  process.exit(2);
}
await import(main.href);
