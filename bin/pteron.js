#!/usr/bin/env node
// The `pteron` command. The project runs its TypeScript through tsx (there is no build step),
// so this launcher registers tsx's loader and hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
