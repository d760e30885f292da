/**
 * ASS/SSA cues from a file's lines: the `Dialogue:` lines of the `[Events]` section, read by its
 * `Format:` line (SSA's and ASS's default when there is none). Text keeps its markup for `cleanCueText`,
 * except what only exists in ASS: every `{…}` block goes (override tags and comments alike) and drawings
 * (`{\p1}m 0 0 l 100 0 …{\p0}`) go with their vector commands. Tolerated: sections in any case, missing
 * `[Script Info]`, extra or fewer fields (the text takes the rest), `Comment:` and other event lines.
 * Malformed: a Dialogue whose Start or End does not parse, a Format line without Start, End or Text, and a
 * file with no Dialogue line at all.
 */
import { type FailAt, parseAssTime, quote, type RawCue } from './caption-syntax.ts';

/** SSA v4 and ASS v4+ both have ten event fields in this order, "Marked" or "Layer" first. */
const DEFAULT_FORMAT = [
  'layer',
  'start',
  'end',
  'style',
  'name',
  'marginl',
  'marginr',
  'marginv',
  'effect',
  'text',
];
const SECTION = /^\s*\[([^\]]+)\]\s*$/;
const EVENT_LINE = /^\s*([A-Za-z]+)\s*:\s?(.*)$/;

/** The first `limit - 1` comma-separated fields, and the rest (which may hold commas) as the last one. */
function splitFields(value: string, limit: number): string[] {
  const fields: string[] = [];
  let rest = value;
  while (fields.length < limit - 1) {
    const comma = rest.indexOf(',');
    if (comma < 0) break;
    fields.push(rest.slice(0, comma));
    rest = rest.slice(comma + 1);
  }
  fields.push(rest);
  return fields;
}

/** Dialogue text without `{…}` blocks, and without the vector commands drawn while `\p` is above 0. */
export function assDialogueText(text: string): string {
  let out = '';
  let drawing = false;
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    const end = open < 0 ? text.length : open;
    if (!drawing) out += text.slice(i, end);
    if (open < 0) break;
    const close = text.indexOf('}', open);
    // An unclosed '{' is text, not a block.
    if (close < 0) {
      if (!drawing) out += text.slice(open);
      break;
    }
    const scale = /\\p(\d+)/.exec(text.slice(open, close));
    if (scale) drawing = Number(scale[1]) > 0;
    i = close + 1;
  }
  return out;
}

/**
 * Reads the Dialogue lines of an ASS/SSA file (`lines` as in `parseTimedText`); with `allowEmpty` (an
 * embedded track), no Dialogue at all is an empty track rather than a malformed file.
 */
export function parseAss(lines: string[], fail: FailAt, allowEmpty = false): RawCue[] {
  const cues: RawCue[] = [];
  let section = '';
  let format = DEFAULT_FORMAT;
  let sawEvents = false;
  lines.forEach((line, k) => {
    const header = SECTION.exec(line);
    if (header) {
      section = header[1]!.trim().toLowerCase();
      if (section === 'events') sawEvents = true;
      return;
    }
    if (section !== 'events') return;
    const event = EVENT_LINE.exec(line);
    if (!event) return;
    const kind = event[1]!.toLowerCase();
    if (kind === 'format') {
      format = event[2]!.split(',').map((f) => f.trim().toLowerCase());
      const missing = ['start', 'end', 'text'].filter((f) => !format.includes(f));
      if (missing.length > 0 || format[format.length - 1] !== 'text')
        fail(k + 1, `the Format line must name Start, End and Text (last), found ${quote(line)}`);
      return;
    }
    if (kind !== 'dialogue') return;
    const fields = splitFields(event[2]!, format.length);
    const field = (name: string) => fields[format.indexOf(name)];
    const start = parseAssTime(field('start') ?? '');
    if (typeof start === 'string') fail(k + 1, `Dialogue Start: ${start}`);
    const end = parseAssTime(field('end') ?? '');
    if (typeof end === 'string') fail(k + 1, `Dialogue End: ${end}`);
    const text = fields.length === format.length ? fields[fields.length - 1]! : '';
    cues.push({
      startMs: start as number,
      endMs: Math.max(start as number, end as number),
      lines: [assDialogueText(text)],
      line: k + 1,
    });
  });
  if (cues.length === 0 && !allowEmpty)
    fail(
      lines.length,
      sawEvents ? 'no Dialogue line in the [Events] section' : 'no [Events] section with Dialogue lines',
    );
  return cues;
}
