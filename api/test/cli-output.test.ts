import { describe, expect, it } from 'vitest';
import { modelChangeLine } from '../src/cli/commands/models.ts';
import { describeOutcome } from '../src/cli/commands/pipeline.ts';
import { formatResults, marked } from '../src/cli/commands/search.ts';
import { formatClock, truncate } from '../src/cli/output.ts';

describe('formatClock', () => {
  it.each([
    [0, '0:00.0'],
    [4.25, '0:04.3'],
    [59.94, '0:59.9'],
    [59.96, '1:00.0'],
    [65.3, '1:05.3'],
    [3725.04, '62:05.0'],
  ])('%d s is %s', (seconds, text) => {
    expect(formatClock(seconds)).toBe(text);
  });
});

describe('truncate', () => {
  it('keeps short text, cuts long text to the width with an ellipsis, and keeps it on one line', () => {
    expect(truncate('beach day', 10)).toBe('beach day');
    expect(truncate('0123456789', 10)).toBe('0123456789');
    expect(truncate('0123456789a', 10)).toBe('012345678…');
    expect(truncate('two\nlines\tand  tabs', 40)).toBe('two lines and tabs');
  });
});

describe('reel search table', () => {
  const result = (title: string, score: number, start: number, end: number, videoId: string, rank: number) =>
    ({
      rank,
      title,
      score,
      confidence: score * 100,
      moment: { start, end },
      moments: [] as Parameters<typeof formatResults>[0][number]['moments'],
      matchedBy: ['frames'],
      words: [],
      videoId,
    }) as unknown as Parameters<typeof formatResults>[0][number];

  it('has #, title, score, conf, moment, why and video columns, aligned, long titles trimmed', () => {
    const long = 'a very long title of a holiday video filmed on a beach at sunset in 2024';
    const table = formatResults([
      result('red', 0.31234, 1.96, 4, 'vid-1', 1),
      result(long, -0.05, 61.04, 125.5, 'vid-2', 2),
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^#\s+title\s+score\s+conf\s+moment\s+why\s+video$/);
    expect(lines[1]).toMatch(/^1\s+red\s+0\.312\s+31\.2\s+0:02\.0–0:04\.0\s+frames\s+vid-1$/);
    expect(lines[2]).toMatch(
      /^2\s+a very long title of a holiday video fi…\s+-0\.050\s+-5\.0\s+1:01\.0–2:05\.5\s+frames\s+vid-2$/,
    );
    // Columns start at the same place on every line.
    for (const column of ['score', 'conf', 'moment', 'why', 'video']) {
      const at = lines[0]!.indexOf(column);
      expect(lines.slice(1).map((l) => l[at - 1])).toEqual([' ', ' ']);
      expect(lines.slice(1).map((l) => l[at])).not.toContain(' ');
    }
  });

  it("lists a video's other moments indented under its row", () => {
    const two = {
      ...result('red-gray-red', 0.5, 0, 2, 'vid-3', 1),
      moments: [
        { start: 0, end: 2, frameIndex: 1, thumbnail: null, score: 0.51 },
        { start: 4, end: 6, frameIndex: 9, thumbnail: null, score: 0.5 },
      ],
    };
    const lines = formatResults([two]).split('\n');
    expect(lines.slice(2)).toEqual([
      '    moment 0:00.0–0:02.0  score 0.510',
      '    moment 0:04.0–0:06.0  score 0.500',
    ]);
  });

  it("lists the words that matched under the row, the query's words in brackets, a cue once", () => {
    const cue = {
      trackId: 'embedded-1',
      text: 'Our new Zorblax ships',
      highlights: [[8, 15]] as [number, number][],
    };
    const worded = {
      ...result('launch', 0.2, 2, 3.5, 'vid-4', 1),
      matchedBy: ['cue', 'title'],
      moments: [
        { start: 2, end: 3.5, frameIndex: 3, thumbnail: null, score: 0.2, cue },
        { start: 0, end: 4, frameIndex: 1, thumbnail: null, score: 0.19 },
      ],
      words: [
        {
          field: 'cue',
          text: cue.text,
          highlights: cue.highlights,
          start: 2,
          end: 3.5,
          trackId: 'embedded-1',
        },
        {
          field: 'title',
          text: 'Zorblax launch',
          highlights: [[0, 7]],
          start: null,
          end: null,
          trackId: null,
        },
      ],
    } as unknown as Parameters<typeof formatResults>[0][number];
    const lines = formatResults([worded]).split('\n');
    expect(lines[1]).toMatch(/\scue\+title\s+vid-4$/);
    expect(lines.slice(2)).toEqual([
      '    moment 0:02.0–0:03.5  score 0.200  said "Our new [Zorblax] ships"',
      '    moment 0:00.0–0:04.0  score 0.190',
      '    title  "[Zorblax] launch"',
    ]);
  });

  it('cuts a long matched text around its first mark, on one line', () => {
    const text = `${'word '.repeat(40)}Zorblax\n${'more '.repeat(40)}`;
    const at = text.indexOf('Zorblax');
    const line = marked(text, [[at, at + 7]]);
    expect(line).toContain('[Zorblax]');
    expect(line).not.toContain('\n');
    expect(line.length).toBeLessThanOrEqual(102);
    expect(line.startsWith('…')).toBe(true);
    expect(line.endsWith('…')).toBe(true);
  });

  it('says so when nothing matched, and heads the closest videos with "no good match" when nothing stands out', () => {
    expect(formatResults([])).toBe('no results');
    const table = formatResults([result('red', 0.01, 0, 1, 'vid-1', 1)], true);
    expect(table.split('\n')[0]).toBe(
      'no good match: nothing stands out from queries that match nothing; the closest videos are',
    );
  });
});

describe('model change lines', () => {
  it('say what a change of the active model sets off, and when nothing changes', () => {
    expect(modelChangeLine('clip', 'clip-int8-image', '*/15 * * * *')).toBe(
      'the active model is now clip-int8-image (was clip): the next sweep (REEL_SWEEP_CRON "*/15 * * * *") re-embeds every indexed video with it, or now: npx reel reindex --model; searches read clip until that ends',
    );
    expect(modelChangeLine('clip', 'clip', '*/15 * * * *')).toBe(
      'the active model stays clip: nothing is re-embedded',
    );
  });
});

describe('reel reindex lines', () => {
  it('says what each step did', () => {
    expect(
      describeOutcome({
        kind: 'backfill',
        batchId: 'backfill-1',
        videos: 2,
        switched: true,
        batch: { indexed: 2, duplicate: 0, failed: 0 },
        searching: 'sha256:0123456789abcdef0123',
      }),
    ).toBe(
      'model:  re-embedded 2 video(s) with the active model (batch backfill-1: 2 indexed, 0 duplicate, 0 failed); searches now read the active model (sha256:0123456789ab…)',
    );
    expect(describeOutcome({ kind: 'backfill', videos: 0, switched: false, searching: 'sha256:ffff' })).toBe(
      'model:  nothing to re-embed; searches still read sha256:ffff…, not the active model',
    );
    // a round whose failures keep searches on the old model says so, and what to do
    expect(
      describeOutcome({
        kind: 'backfill',
        batchId: 'backfill-2',
        videos: 2,
        switched: false,
        batch: { indexed: 1, duplicate: 0, failed: 1 },
        searching: 'sha256:0123456789abcdef0123',
        stuckOn: 'backfill-2',
      }),
    ).toBe(
      "model:  re-embedded 2 video(s) with the active model (batch backfill-2: 1 indexed, 0 duplicate, 1 failed); searches still read sha256:0123456789ab…, not the active model: 1 video(s) could not get the active model's vectors (npx reel status backfill-2 says why); searches switch once every indexed video has them: run npx reel reindex --model again when they can",
    );
    expect(describeOutcome({ kind: 'sweep', videos: 0 })).toBe('sweep:  nothing to re-run');
    expect(
      describeOutcome({
        kind: 'upkeep',
        detail: {
          dropped: ['sha256:old'],
          tables: [
            {
              table: 'videos',
              rows: 3,
              fragmentsRemoved: 4,
              fragmentsAdded: 1,
              versionsPruned: 6,
              bytesPruned: 2048,
              indexesCreated: ['tenant_idx'],
            },
            {
              table: 'frames',
              rows: 30,
              fragmentsRemoved: 2,
              fragmentsAdded: 1,
              versionsPruned: 1,
              bytesPruned: 1024,
              indexesCreated: [],
            },
          ],
        },
      }),
    ).toBe(
      'upkeep: 2 table(s) compacted (6 fragments merged, 7 old versions pruned, 3.0 KB freed), built tenant_idx, 1 retired model(s) dropped',
    );
  });
});
