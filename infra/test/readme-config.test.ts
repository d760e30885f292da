import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../src/config.ts';

// The README's configuration table is the user's reference: it must list every setting with its default.
describe('README configuration table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const row of configReference()) {
    it(`documents ${row.env}`, () => {
      const line = readme.split('\n').find((l) => l.startsWith(`| \`${row.env}\` |`));
      expect(line, `README has no table row for ${row.env}`).toBeDefined();
      const shownDefault = row.default.startsWith('(') ? row.default : `\`${row.default}\``;
      expect(line).toContain(`| ${shownDefault} |`);
    });
  }
});
