import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../src/config.ts';

// The README's configuration table is the user's reference: it must list every setting with its default.
describe('README configuration table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = readme
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  for (const setting of configReference()) {
    it(`documents ${setting.env} with its default`, () => {
      const row = rows.find((cells) => cells[0] === `\`${setting.env}\``);
      expect(row, `README has no table row for ${setting.env}`).toBeDefined();
      const shownDefault = setting.default.startsWith('(') ? setting.default : `\`${setting.default}\``;
      expect(row?.[2]).toBe(shownDefault);
    });
  }
});
