import { describe, expect, it } from 'vitest';
import { cleanCueText } from '../src/captions/cue-text.ts';

describe('cleanCueText', () => {
  it.each([
    ['<i>italic</i> <b>bold</b> <u>under</u>', 'italic bold under'],
    ['<font color="#00ff00" face="Arial">green</font>', 'green'],
    ['<v Roger Bingham>Hi</v> <v.loud Esme>there', 'Hi there'],
    ['<c.yellow.bg_blue>class</c> <lang en-GB>colour</lang>', 'class colour'],
    ['one <00:00:01.000>two <00:02.500>three', 'one two three'],
    ['<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp>字<rt>ji</ruby>', '漢字'],
    ['{\\an8}{\\pos(10,20)\\c&H00FF00&}Top{\\i1} line', 'Top line'],
    ['first\\Nsecond\\nthird', 'first\nsecond\nthird'],
    ['hard\\hspace', 'hard space'],
    [
      '&amp; &lt;tag&gt; &quot;q&quot; &#39;s&#39; &#x2019; &nbsp;x &eacute;',
      '& <tag> "q" \'s\' ’ x &eacute;',
    ],
    ['  spaced\t  out  \n\n  \n second  ', 'spaced out\nsecond'],
    ['I <3 you, 2 < 3 > 1', 'I <3 you, 2 < 3 > 1'],
    ['{a plain brace comment} stays', '{a plain brace comment} stays'],
    ['\u202Bמשפט\u202C\u200F', 'משפט'],
    ['<i> </i>\n<b></b>', ''],
    ['line\r\nwindows', 'line\nwindows'],
  ])('%j → %j', (raw, clean) => {
    expect(cleanCueText(raw)).toBe(clean);
  });

  it('never turns escaped markup into tags it then strips', () => {
    expect(cleanCueText('&lt;i&gt;literal&lt;/i&gt;')).toBe('<i>literal</i>');
  });
});
