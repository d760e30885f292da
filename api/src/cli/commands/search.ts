import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { POOLINGS, type Pooling, SEARCH_MODES, type SearchMode, type SearchResponse } from '@reel/index';
import { sniffImage } from '@reel/models';
import { LiveSearch, openPipeline } from '@reel/workers';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { searchView } from '../../json-views.ts';
import { type CliContext, UsageError } from '../context.ts';
import { formatClock, formatTable, printJson, truncate } from '../output.ts';

function intIn(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function score(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < -1 || n > 1)
    throw new InvalidArgumentError('expected a cosine from -1 to 1');
  return n;
}

/** A matched text on one line, the query's words in [brackets], at most 100 characters around them. */
export function marked(text: string, highlights: readonly [number, number][]): string {
  let out = '';
  let at = 0;
  for (const [start, end] of highlights) {
    out += `${text.slice(at, start)}[${text.slice(start, end)}]`;
    at = end;
  }
  out += text.slice(at);
  const line = out.replace(/\s+/g, ' ').trim();
  const first = line.indexOf('[');
  if (line.length <= 100) return line;
  const from = Math.max(0, Math.min(first - 30, line.length - 100));
  return `${from > 0 ? '…' : ''}${line.slice(from, from + 100)}${from + 100 < line.length ? '…' : ''}`;
}

/** Longest title shown in the table; longer ones end in an ellipsis (--json has them whole). */
const TITLE_WIDTH = 40;

/**
 * The readable answer: #, title, score, confidence, moment (m:ss.s–m:ss.s) and the video id to open it
 * by; "no good match" first when nothing stands out.
 */
export function formatResults(results: SearchResponse['results'], noGoodMatch = false): string {
  if (results.length === 0) return 'no results';
  const lines = formatTable(
    ['#', 'title', 'score', 'conf', 'moment', 'why', 'video'],
    results.map((r) => [
      `${r.rank}`,
      truncate(r.title, TITLE_WIDTH),
      r.score.toFixed(3),
      r.confidence === null ? '–' : r.confidence.toFixed(1),
      `${formatClock(r.moment.start)}–${formatClock(r.moment.end)}`,
      r.matchedBy.join('+'),
      r.videoId,
    ]),
  ).split('\n');
  // A video's other matching moments and the words that matched, indented under its row.
  const rows = [lines[0]!];
  results.forEach((r, i) => {
    rows.push(lines[i + 1]!);
    if (r.moments.length > 1)
      for (const m of r.moments)
        rows.push(
          `    moment ${formatClock(m.start)}–${formatClock(m.end)}  score ${m.score.toFixed(3)}${m.cue ? `  said "${marked(m.cue.text, m.cue.highlights)}"` : ''}`,
        );
    for (const w of r.words) {
      // Cues shown as moments above are not repeated.
      if (w.field === 'cue' && r.moments.length > 1 && r.moments.some((m) => m.cue?.text === w.text))
        continue;
      const at = w.start === null ? '' : ` ${formatClock(w.start)}–${formatClock(w.end ?? w.start)}`;
      rows.push(`    ${w.field === 'cue' ? 'said' : w.field}${at}  "${marked(w.text, w.highlights)}"`);
    }
  });
  const table = rows.join('\n');
  return noGoodMatch
    ? `no good match: nothing stands out from queries that match nothing; the closest videos are\n${table}`
    : table;
}

/**
 * The image to search by: a regular file (not a FIFO or a device, checked on the handle opened) of at
 * most `maxBytes`, in JPEG, PNG or WebP.
 */
async function readImage(file: string, maxBytes: number): Promise<Uint8Array> {
  // O_NONBLOCK: a FIFO opens at once (and is refused below) instead of waiting for a writer forever.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new UsageError(`--image ${file}: cannot open it (${error.code ?? error.message})`);
    },
  );
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`--image ${file}: not a regular file`);
    if (info.size > maxBytes)
      throw new UsageError(
        `--image ${file}: ${info.size} bytes, more than ${maxBytes} (REEL_API_MAX_IMAGE_BYTES)`,
      );
    const bytes = new Uint8Array(info.size);
    await handle.read(bytes, 0, info.size, 0);
    if (sniffImage(bytes) === undefined)
      throw new UsageError(`--image ${file}: expected a JPEG, PNG or WebP file`);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** `VIDEO` or `VIDEO@SECONDS`. */
function likeOption(value: string): { videoId: string; at?: number } {
  const at = value.lastIndexOf('@');
  if (at < 0) return { videoId: value };
  const seconds = Number(value.slice(at + 1));
  if (!Number.isFinite(seconds) || seconds < 0 || value.slice(at + 1) === '')
    throw new InvalidArgumentError('expected VIDEO or VIDEO@SECONDS (seconds ≥ 0)');
  return { videoId: value.slice(0, at), at: seconds };
}

function weight(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function confidence(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new InvalidArgumentError('expected a number (3: only results that stand out)');
  return n;
}

export function registerSearch(program: Command, context: () => CliContext): void {
  program
    .command('search')
    .description(
      'search indexed videos by text; prints each result with its score and the moment that matched',
    )
    .argument('[text]', 'what to look for (optional with --like)')
    .option(
      '--like <video[@seconds]>',
      'more like this video (its id), or like its frame nearest a time: VIDEO@12.5; the video itself is left out',
      likeOption,
    )
    .option('--image <file>', 'search by an image (JPEG, PNG or WebP) instead of or beside the text')
    .option(
      '--example-weight <w>',
      'share of the --like example when a text is given too (0..1, default 0.5)',
      weight,
    )
    .option('-k, --k <n>', 'results to show', intIn(1, 100), 10)
    .addOption(
      new Option('--pooling <pooling>', 'how frames are pooled against the text').choices(
        POOLINGS as string[],
      ),
    )
    .addOption(
      new Option(
        '--group <grouping>',
        'video: one row per video, its moments under it; moment: every matching moment',
      ).choices(['video', 'moment']),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'visual: the frames; words: subtitles, titles, file names and tags; hybrid: both (default when the tenant has words)',
      ).choices([...SEARCH_MODES]),
    )
    .option('--tenant <id>', 'tenant to search', 'default')
    .option('--tags <list>', 'only videos carrying all these tags (comma-separated)', (v: string) =>
      v
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .option('--min-score <cosine>', 'drop results scoring below this', score)
    .option(
      '--min-confidence <c>',
      'drop results whose confidence is below this (3: only clear matches)',
      confidence,
    )
    .option('--cursor <cursor>', 'next page: the cursor a previous search printed')
    .option('--json', 'print the response as JSON')
    .addHelpText(
      'after',
      '\nPrints #, title, score (cosine), conf (confidence: how far it stands above queries that match nothing;\n' +
        "3 and more is a clear match), the moment that matched (m:ss.s–m:ss.s; a subtitle cue's own times when\n" +
        'words found it), why it matched (frames, cue, title, file, tag) and the video id, with the words that\n' +
        "matched under it, the query's words in [brackets]; under\n" +
        '"no good match" when nothing stands out; --json\n' +
        'prints the whole response (untrimmed titles, each rank and moment with its frame index, timings,\n' +
        'the next-page cursor).\n\n' +
        'Examples:\n  $ npx reel search "a red square on the left" -k 5\n  $ npx reel search "dog on a beach" --pooling mean --min-score 0.25\n  $ npx reel search --like v_0123abcd@12.5\n  $ npx reel search --image photo.jpg',
    )
    .action(
      async (
        text: string | undefined,
        options: {
          like?: { videoId: string; at?: number };
          image?: string;
          exampleWeight?: number;
          k: number;
          pooling?: Pooling;
          tenant: string;
          tags?: string[];
          minScore?: number;
          minConfidence?: number;
          group?: 'video' | 'moment';
          mode?: SearchMode;
          cursor?: string;
          json?: boolean;
        },
      ) => {
        if (text === undefined && !options.like && !options.image)
          throw new UsageError(
            'say what to look for: a text, --like VIDEO or --image FILE, or a text and one of them',
          );
        if (options.like && options.image) throw new UsageError('give --like or --image, not both');
        if (text !== undefined && text.trim() === '')
          throw new UsageError('search text is empty: say what to look for');
        const ctx = context();
        // The API's limit, so a query the CLI takes is one the API takes.
        if (text !== undefined && text.length > ctx.config.apiMaxQueryChars)
          throw new UsageError(
            `search text is ${text.length} characters; the limit is ${ctx.config.apiMaxQueryChars} (REEL_API_MAX_QUERY_CHARS), as for the API`,
          );
        const image = options.image ? await readImage(options.image, ctx.config.apiMaxImageBytes) : undefined;
        const pipeline = await openPipeline(ctx.config, ctx.logger);
        // The same search as the API's: the model searches read, with the X-Pool head from config.
        const live = new LiveSearch(pipeline, ctx.logger);
        try {
          const search = await live.service();
          const query = {
            ...(text !== undefined ? { text } : {}),
            ...(options.like ? { like: options.like } : {}),
            ...(image ? { image } : {}),
            ...(options.exampleWeight !== undefined ? { exampleWeight: options.exampleWeight } : {}),
          };
          const response = await search.search(query, {
            tenant: options.tenant,
            k: options.k,
            ...(options.pooling ? { pooling: options.pooling } : {}),
            ...(options.tags ? { filters: { tags: options.tags } } : {}),
            ...(options.minScore !== undefined ? { minScore: options.minScore } : {}),
            ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
            ...(options.group ? { group: options.group } : {}),
            ...(options.mode ? { mode: options.mode } : {}),
            ...(options.cursor ? { cursor: options.cursor } : {}),
          });
          if (options.json) {
            printJson(searchView(response));
            return;
          }
          for (const warning of response.warnings) process.stderr.write(`warning: ${warning}\n`);
          process.stdout.write(`${formatResults(response.results, response.noGoodMatch)}\n`);
          process.stdout.write(
            `${response.mode} · ${response.pooling} pooling · ${response.timings.totalMs.toFixed(0)} ms${response.nextCursor ? ` · more: --cursor ${response.nextCursor}` : ''}\n`,
          );
        } finally {
          await live.close();
          await pipeline.close();
        }
      },
    );
}
