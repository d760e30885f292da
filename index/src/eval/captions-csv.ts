/**
 * Parser for MSR-VTT-style caption lists: CSV records of `video_id,sentence`, one caption a record.
 *
 * Accepted shapes:
 * - no header: every record has exactly two fields, `video_id,sentence`;
 * - a header naming a `video_id` and a `sentence` column (any order, other columns ignored), as in
 *   CLIP4Clip's `MSRVTT_JSFUSION_test.csv` (`,key,vid_key,video_id,sentence`), the 1k-A split X-Pool reads;
 *   every record then has as many fields as the header.
 *
 * CSV rules (RFC 4180): fields are separated by commas; a field that starts with `"` is quoted, may hold
 * commas, newlines and `""` (one literal quote), and must be followed by a comma or the end of the record;
 * a quote inside an unquoted field is kept as a literal character (as Python's csv and pandas read it).
 * Line ends may be `\n` or `\r\n`; a UTF-8 byte-order mark and blank lines are skipped; the video id and
 * sentence are trimmed. Every error names the line where the offending record starts.
 *
 * Hand-written rather than csv-parse (7.0.3), which was tried against these rules and the tests: with
 * `relax_quotes` (needed to keep `a "quoted" word` literal, else INVALID_OPENING_QUOTE) it reads
 * `"closed" then text` silently as one unquoted field, quotes and all, where this parser reports the
 * stray text; its `info.lines` is the line a record ends on, and a parse error names the line where
 * parsing stopped, so an unterminated quote on line 2 is reported at the end of the file.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** One caption of a captions file. */
export interface Caption {
  videoId: string;
  sentence: string;
  /** 1-based line of the file where the record starts (for messages). */
  line: number;
}

interface CsvRecord {
  fields: string[];
  line: number;
}

function fail(fileName: string, line: number, message: string): never {
  throw new ReelError(IndexErrorCode.CAPTIONS_INVALID, `${fileName}:${line}: ${message}`);
}

/** Splits CSV text into records (blank lines dropped), each with the line it starts on. */
function parseRecords(text: string, fileName: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    // one record: fields until an unquoted line end or the end of the text
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= n)
            fail(
              fileName,
              start,
              'unterminated quoted field: expected a closing " before the end of the file',
            );
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n'))
          fail(
            fileName,
            line,
            `expected a comma or the end of the line after a closing quote, got ${JSON.stringify(text[i])} (write a literal quote inside a quoted field as "")`,
          );
      } else {
        const from = i;
        while (i < n && text[i] !== ',' && text[i] !== '\n') i++;
        field = text.slice(from, i);
        if (field.endsWith('\r') && text[i] !== ',') field = field.slice(0, -1);
        if (field.trim() !== '') blank = false;
      }
      fields.push(field);
      if (i < n && text[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (i < n && text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    if (!blank) records.push({ fields, line: start });
  }
  return records;
}

/**
 * Parses a captions CSV (see the file header for the accepted shapes).
 *
 * @param text the file's contents.
 * @param fileName used in error messages (`<fileName>:<line>: ...`).
 * @returns the captions in file order (a video may have several).
 * @throws ReelError CAPTIONS_INVALID for an unterminated quote, stray quote, wrong field count, an empty
 *   video id or sentence, a header without `video_id` and `sentence`, or no captions at all.
 */
export function parseCaptionsCsv(text: string, fileName = 'captions.csv'): Caption[] {
  const records = parseRecords(text, fileName);
  if (records.length === 0) fail(fileName, 1, 'expected video_id,sentence records, got an empty file');
  const first = records[0]!;
  const names = first.fields.map((f) => f.trim().toLowerCase());
  const hasHeader = names.includes('video_id') && names.includes('sentence');
  if (!hasHeader && first.fields.length !== 2)
    fail(
      fileName,
      first.line,
      `expected a header with video_id and sentence columns or records of 2 fields (video_id,sentence), got ${first.fields.length} fields: ${first.fields.map((f) => JSON.stringify(f)).join(',')}`,
    );
  const idColumn = hasHeader ? names.indexOf('video_id') : 0;
  const sentenceColumn = hasHeader ? names.indexOf('sentence') : 1;
  const width = first.fields.length;
  const captions: Caption[] = [];
  for (const record of hasHeader ? records.slice(1) : records) {
    if (record.fields.length !== width)
      fail(
        fileName,
        record.line,
        `expected ${width} fields${hasHeader ? ' (as the header)' : ' (video_id,sentence)'}, got ${record.fields.length} (quote a sentence that contains commas)`,
      );
    const videoId = record.fields[idColumn]!.trim();
    const sentence = record.fields[sentenceColumn]!.trim();
    if (videoId === '') fail(fileName, record.line, 'expected a video id, got an empty field');
    if (sentence === '')
      fail(fileName, record.line, `expected a sentence for video ${videoId}, got an empty field`);
    captions.push({ videoId, sentence, line: record.line });
  }
  if (captions.length === 0)
    fail(fileName, first.line, 'expected at least one caption after the header, got none');
  return captions;
}
