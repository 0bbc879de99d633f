// The text of `pteron --help` and `pteron ROLE --help`. Pure: the flags come from the caller.
import { formatFlagValue, type Flag } from '../config/index.ts';
import type { RoleDefinition } from './roles.ts';

export const USAGE = `usage:
  pteron meta|replica|collector [--config FILE] [--set section.key=value]... [--port N] [--pretty]
  pteron onebox [start] [--metas N] [--replicas N] [--cluster NAME] [--config FILE] [--set section.key=value]... [--pretty]
  pteron onebox list|stop|clear [--cluster NAME]       (pteron onebox --help for every option)
  pteron shell [--meta host:port[,host:port...]] [--secret S] [-e "command"]... [--keep-going]
  pteron supervisor [--manifest FILE] [--port N] [--pretty]   (default manifest: pteron.yml)
  pteron svc ls|health|metrics|restart|stop [SVC] [--invalidate] [--url URL] [--json]
  pteron repo [update] [--invalidate] [--url URL] [--json]
  pteron bulk-load generate --input FILE.jsonl|FILE.csv --table-partitions N --out DIR --app NAME --app-id ID [--cluster NAME]
  pteron --version | --help
  pteron COMMAND --help                               (a role's --help lists its config flags)
`;

/** `pteron ROLE --help`: the usage line, then every flag the role's process declares, by section. */
export function roleHelp(name: string, role: RoleDefinition, flags: readonly Flag[]): string {
  const lines = [
    `usage: pteron ${name} [--config FILE] [--set section.key=value]... [--port N]`,
    `  ${role.summary}; listens on --port, else [apps.${name}] ports in the config, else ${role.defaultPort}`,
    '',
    'config flags: in config.ini as [section] key = value, or --set section.key=value',
    '(mutable ones also at run time through /updateConfig)',
  ];
  const sections = [...new Set(flags.map((flag) => flag.section))].sort();
  for (const section of sections) {
    lines.push('', `[${section}]`);
    for (const flag of flags.filter((entry) => entry.section === section)) {
      const mutable = flag.mutable ? ', mutable' : '';
      lines.push(`  ${flag.name} = ${formatFlagValue(flag.type, flag.defaultValue)}   (${flag.type}${mutable})`);
      if (flag.description !== '') lines.push(`      ${flag.description}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
