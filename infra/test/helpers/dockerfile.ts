/**
 * A small Dockerfile reader for the tests of infra/docker/Dockerfile: stages and their instructions, the
 * options of COPY/HEALTHCHECK, exec-form arrays and ENV pairs. Enough for that file, not a full parser.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  base: string;
  name: string;
  instructions: Instruction[];
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/**
 * The Dockerfile's stages and instructions: continuation lines joined, comment lines dropped (as the
 * builder does, also inside a continued instruction), keywords upper-cased.
 */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let current = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*#/.test(raw)) return;
    if (current === '' && raw.trim() === '') return;
    if (current === '') start = i + 1;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trim()} `;
      return;
    }
    current += line.trim();
    const [, keyword = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(current) ?? [];
    instructions.push({ keyword: keyword.toUpperCase(), args: args.trim(), line: start });
    current = '';
  });
  if (current !== '') throw new Error('the Dockerfile ends inside a continued line');
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`cannot read FROM on line ${instruction.line}: ${instruction.args}`);
      stages.push({ base: match[1]!, name: match[2] ?? String(stages.length), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${instruction.keyword} on line ${instruction.line} comes before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** Leading `--flag=value` options, and the rest. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** An exec-form argument (a JSON array of strings). */
export function execForm(args: string): string[] {
  if (!args.startsWith('[')) throw new Error(`exec form (a JSON array) expected, got: ${args}`);
  return JSON.parse(args);
}

export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const { flags, rest } = splitFlags(i.args);
      const parts = rest.split(/\s+/);
      return { from: flags.from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
    });
}

/** A stage's ENV as `KEY=value` pairs (values without spaces or quotes, as infra/docker/Dockerfile writes them). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((i) => i.keyword === 'ENV'))
    for (const [, key, value] of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g)) env[key!] = value!;
  return env;
}

/** The stage's RUN commands, without their options (e.g. `--mount=type=cache,...`). */
export function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => splitFlags(i.args).rest);
}

/** The last instruction of a kind in a stage (the one that counts for USER, CMD, ENTRYPOINT...). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** The HEALTHCHECK's options and its command (exec form). */
export function healthcheck(stage: Stage): { flags: Record<string, string>; command: string[] } {
  const instruction = lastOf(stage, 'HEALTHCHECK');
  if (!instruction) throw new Error(`stage ${stage.name} has no HEALTHCHECK`);
  const { flags, rest } = splitFlags(instruction.args);
  if (!rest.startsWith('CMD ')) throw new Error(`HEALTHCHECK without CMD: ${instruction.args}`);
  return { flags, command: execForm(rest.slice('CMD '.length)) };
}
