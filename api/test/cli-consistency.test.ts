/**
 * The promises every `reel` command keeps (issue 8): `--help` with an example, `--json` where the output
 * is data, exit status 0 ok / 1 failure / 2 bad usage, and `reel` alone lists the commands. The command
 * tree is walked from buildProgram, so a new command is checked without being named here, and must be
 * put on one of the two lists below (data or not) before this test passes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_MODEL_ID, writeSyntheticClip } from '@reel/models';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { runCli, runCliInProcess } from './helpers/run-cli.ts';

/** Commands whose answer is data: each has --json (tokenize's output is JSON lines already; it accepts it). */
const DATA_COMMANDS = [
  'doctor',
  'frames',
  'demo',
  'eval',
  'models synth',
  'models pull',
  'models list',
  'models use',
  'models quantize',
  'ingest',
  'status',
  'reindex',
  'search',
  'keys create',
  'keys list',
  'keys revoke',
  'tokenize',
  'webhooks add',
  'webhooks list',
  'webhooks enable',
  'webhooks disable',
  'webhooks remove',
  'webhooks deliveries',
];
/** Long-running services: they print where they listen or what they serve, then logs; nothing to parse. */
const SERVICE_COMMANDS = ['worker', 'serve'];

const program = buildProgram(() => {
  throw new Error('a command ran: this test only parses');
});

function walk(command: Command, prefix: string[] = []): { name: string; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const names = [...prefix, sub.name()];
    return [{ name: names.join(' '), command: sub }, ...walk(sub, names)];
  });
}
const all = walk(program);
const leaves = all.filter((c) => c.command.commands.length === 0);
const groups = all.filter((c) => c.command.commands.length > 0);

/** The full help as --help prints it (addHelpText included, which helpInformation() leaves out). */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({
    writeOut: (s) => {
      text += s;
    },
  });
  command.outputHelp();
  return text;
}

let dataDir: string;
let root: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: dataDir,
    REEL_LOG_LEVEL: 'error',
    ...extra,
  };
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'reel-cli-consistency-'));
  dataDir = path.join(root, 'data');
  // main() loads config from process.env: point it at a folder of this test's own.
  vi.stubEnv('REEL_DATA_DIR', dataDir);
  vi.stubEnv('REEL_LOG_LEVEL', 'error');
  vi.stubEnv('REEL_MODEL', undefined);
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('every command (walked from buildProgram)', () => {
  it('finds the groups and their subcommands', () => {
    expect(groups.map((g) => g.name).sort()).toEqual(['keys', 'models', 'webhooks']);
    expect(leaves.map((c) => c.name)).toContain('models quantize');
  });

  it.each(all.map((c) => [c.name, c.command] as const))('%s: --help has an example', (_name, command) => {
    expect(helpOf(command)).toMatch(/\nExamples?:\n {2}\$ (npx reel|npm run) /);
  });

  it('is either a data command or a service: a new command must be put on one list', () => {
    expect(leaves.map((c) => c.name).sort()).toEqual([...DATA_COMMANDS, ...SERVICE_COMMANDS].sort());
  });

  it.each(DATA_COMMANDS)('%s has --json', (name) => {
    const command = leaves.find((c) => c.name === name)!.command;
    expect(command.options.map((o) => o.long)).toContain('--json');
  });

  it.each(SERVICE_COMMANDS)('%s (a service) has no --json', (name) => {
    const command = leaves.find((c) => c.name === name)!.command;
    expect(command.options.map((o) => o.long)).not.toContain('--json');
  });
});

describe('reel and its groups alone list their commands (exit 0)', () => {
  it('reel lists every top-level command', async () => {
    const listed = await runCliInProcess([]);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe('');
    for (const command of program.commands)
      expect(listed.stdout).toMatch(new RegExp(`\\n  ${command.name()}\\b`));
  });

  it.each(groups.map((g) => [g.name, g.command] as const))(
    'reel %s lists its subcommands on stdout',
    async (name, command) => {
      const listed = await runCliInProcess(name.split(' '));
      expect(listed.code).toBe(0);
      expect(listed.stderr).toBe('');
      for (const sub of command.commands) expect(listed.stdout).toMatch(new RegExp(`\\n  ${sub.name()}\\b`));
      expect(listed.stdout).toContain('Example');
    },
  );

  it('reel search --help prints the help and exits 0', async () => {
    const help = await runCliInProcess(['search', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ npx reel search "a red square on the left" -k 5');
  });
});

describe('bad usage exits 2 (in process, through main)', () => {
  it.each(all.map((c) => c.name))('reel %s --no-such-option', async (name) => {
    const result = await runCliInProcess([...name.split(' '), '--no-such-option']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // Commander checks mandatory options (frames --out, keys create --tenant) before unknown ones.
    const mandatory = all.find((c) => c.name === name)!.command.options.some((o) => o.mandatory);
    expect(result.stderr).toContain(mandatory ? 'not specified' : "error: unknown option '--no-such-option'");
    expect(result.stderr).toContain('(run "reel --help" for usage)');
  });

  it.each([
    [['frobnicate'], "error: unknown command 'frobnicate'"],
    [['models', 'frobnicate'], "error: unknown command 'frobnicate'"],
    [['search'], 'reel: say what to look for: a text, --like VIDEO or --image FILE'],
    [['search', 'red', '-k', '0'], "argument '0' is invalid. expected an integer from 1 to 100"],
    [['search', 'red', '--pooling', 'median'], "argument 'median' is invalid. Allowed choices are"],
    [['search', 'red', '--min-score', '2'], 'expected a cosine from -1 to 1'],
    [['tokenize', '--model', 'x', '--vocab', 'y', 'text'], 'reel: give --model or --vocab, not both'],
    [['frames', 'clip.mp4', '--out', 'x', '--count', '2', '--scenes'], 'choose one of --count, --fps'],
    [['keys', 'revoke', 'no-such-key', '--json'], 'reel: no API key with id no-such-key'],
  ])('reel %j', async (args, message) => {
    const result = await runCliInProcess(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});

describe('--json where the output is data', () => {
  beforeAll(async () => {
    await writeSyntheticClip(path.join(dataDir, 'models', DEFAULT_MODEL_ID));
  });

  it('keys create, revoke and list', async () => {
    const created = await runCliInProcess(['keys', 'create', '--tenant', 'acme', '--json']);
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const revoked = await runCliInProcess(['keys', 'revoke', id, '--json']);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ id, revoked: true, activeLeft: 0 });
    const listed = JSON.parse((await runCliInProcess(['keys', 'list', '--json'])).stdout) as {
      revokedAt?: string;
    }[];
    expect(listed).toEqual([expect.objectContaining({ id, tenant: 'acme', revokedAt: expect.any(String) })]);
  });

  it('keys create --operator makes a key of no tenant; exactly one of --tenant and --operator', async () => {
    const operator = await runCliInProcess(['keys', 'create', '--operator', '--name', 'ops', '--json']);
    expect(operator.code).toBe(0);
    expect(JSON.parse(operator.stdout)).toMatchObject({
      role: 'operator',
      tenant: '*',
      scopes: [],
      name: 'ops',
    });
    for (const args of [
      ['keys', 'create'],
      ['keys', 'create', '--operator', '--tenant', 'acme'],
    ]) {
      const bad = await runCliInProcess(args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain('give exactly one of --tenant T (a tenant key) or --operator');
    }
    const named = await runCliInProcess(['keys', 'create', '--tenant', 'v_0123456789abcdef01234567']);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('not shaped like a video id');
  });

  it('models use', async () => {
    const used = await runCliInProcess(['models', 'use', DEFAULT_MODEL_ID, '--json']);
    expect(used.code).toBe(0);
    expect(JSON.parse(used.stdout)).toMatchObject({
      id: DEFAULT_MODEL_ID,
      dir: path.join(dataDir, 'models', DEFAULT_MODEL_ID),
      layout: expect.any(String),
      dim: expect.any(Number),
      fingerprint: expect.stringMatching(/^sha256:/),
    });
  });

  it('tokenize: JSON lines with or without --json', async () => {
    const plain = await runCliInProcess(['tokenize', 'red', 'a blue sky']);
    const json = await runCliInProcess(['tokenize', '--json', 'red', 'a blue sky']);
    expect(plain.code).toBe(0);
    expect(json).toEqual(plain);
    const lines = plain.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; ids: number[] });
    expect(lines.map((l) => l.text)).toEqual(['red', 'a blue sky']);
    expect(lines[1]!.ids.length).toBeGreaterThan(lines[0]!.ids.length);
  });

  it('frames: the manifest, with the folder and the time taken', async () => {
    const video = path.join(root, 'clip.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=96x72:rate=10:duration=2',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
    const out = path.join(root, 'frames');
    const result = await runCliInProcess([
      'frames',
      video,
      '--count',
      '3',
      '--size',
      '32',
      '--out',
      out,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { out: string; seconds: number; frames: unknown[] };
    expect(printed.out).toBe(out);
    expect(printed.seconds).toBeGreaterThan(0);
    expect(printed.frames).toHaveLength(3);
    const { out: _out, seconds: _seconds, ...manifest } = printed;
    expect(manifest).toEqual(JSON.parse(readFileSync(path.join(out, 'frames.json'), 'utf8')));
  });
});

describe('exit status end to end (the real binary)', () => {
  it('2 for bad usage, with the usage hint', async () => {
    const result = await runCli(['search', 'red', '-k', '0'], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: option '-k, --k <n>' argument '0' is invalid");
    expect(result.stderr).toContain('(run "reel --help" for usage)');
    expect(result.stdout).toBe('');
  });

  it('2 for a file that is not there (bad input, as the README says for frames)', async () => {
    const result = await runCli(
      ['frames', path.join(root, 'nope.mp4'), '--out', path.join(root, 'x')],
      env(),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error FILE_NOT_FOUND: /);
  });

  it('1 for a failure: a model that is not installed', async () => {
    const result = await runCli(['models', 'use', 'not-installed'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error MODEL_NOT_FOUND: /m);
    expect(result.stdout).toBe('');
  });
});
