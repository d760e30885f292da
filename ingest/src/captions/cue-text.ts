/**
 * `cleanCueText`: a cue's raw text (SubRip, WebVTT or ASS markup) to the plain words a person reads on
 * screen. Only what looks like markup goes: `<` followed by a letter or `/` (a tag), a WebVTT timestamp
 * tag, a `{\…}` override block. A lone "<3" or "x < y" stays as written.
 */

/** Named entities seen in captions (HTML's most common ones); any other `&name;` is left as written. */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  lrm: '',
  rlm: '',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  copy: '©',
  reg: '®',
  trade: '™',
  euro: '€',
  shy: '',
};

/** ASS override blocks: `{\i1}`, `{\an8\pos(10,20)}` (a plain `{comment}` in SubRip is kept as text). */
const OVERRIDE_BLOCK = /\{\\[^}]*\}/g;
/** Ruby annotations and their fallback parentheses: the base text stays, the reading goes. */
const RUBY_TEXT = /<(rt|rp)(?:[\s.][^<>]*)?>[\s\S]*?(?:<\/\1\s*>|(?=<\/ruby\s*>)|$)/gi;
/** An HTML-ish or WebVTT tag: `<i>`, `</b>`, `<font color="#fff">`, `<v Name>`, `<c.yellow>`, `<lang en>`. */
const TAG = /<\/?[a-zA-Z][\w.-]*(?:\s[^<>]*)?>/g;
/** A WebVTT karaoke timestamp inside a cue: `<00:00:01.000>` or `<00:01.000>`. */
const TIMESTAMP_TAG = /<(?:\d+:)?\d{2}:\d{2}\.\d{3}>/g;
const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,31}));/g;
/** Invisible characters that only steer layout: zero-width, bidi marks and embeddings, BOM, soft hyphen. */
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF\u00AD]/g;
/** Spaces to collapse: tabs, no-break and typographic spaces (not newlines). */
const SPACES = /[ \t\f\v\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+/g;

function decodeEntity(whole: string, decimal?: string, hex?: string, name?: string): string {
  if (name !== undefined) return NAMED_ENTITIES[name] ?? NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  const code = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex ?? '', 16);
  if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return whole;
  return String.fromCodePoint(code);
}

/**
 * Plain text of one cue: tags (`<i>`, `<b>`, `<u>`, `<font …>`, WebVTT `<v Name>`, `<c.cls>`, `<lang …>`,
 * timestamp tags; `<ruby>` keeps its base text, `<rt>`/`<rp>` go), ASS override blocks `{\…}`, ASS breaks
 * `\N` `\n` (a line break) and `\h` (a space), entities decoded (`&amp;` `&lt;` `&nbsp;` `&#39;` `&#x2019;`…),
 * invisible layout marks dropped, spaces collapsed, lines trimmed, empty lines dropped, lines joined with
 * '\n'. Returns '' when nothing readable is left (the caller drops such a cue).
 */
export function cleanCueText(raw: string): string {
  const text = raw
    .replace(/\r\n?/g, '\n')
    .replace(OVERRIDE_BLOCK, '')
    .replace(/\\[Nn]/g, '\n')
    .replace(/\\h/g, ' ')
    .replace(RUBY_TEXT, '')
    .replace(TIMESTAMP_TAG, '')
    .replace(TAG, '')
    // After the tags: an escaped "&lt;i&gt;" is the text "<i>", not a tag.
    .replace(ENTITY, decodeEntity)
    .replace(INVISIBLE, '');
  return text
    .split('\n')
    .map((line) => line.replace(SPACES, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}
