import { csvField, reviewCsv, REVIEW_COLUMNS, type ReviewRecord } from '../../src/web/access-review';

/** The review's CSV opens in a spreadsheet as data: RFC 4180 quoting, and no cell runs as a formula. */

describe('csvField', () => {
  it.each([
    ['plain', 'platform', 'platform'],
    ['a comma', 'Platform, EU', '"Platform, EU"'],
    ['a quote', 'the "core" team', '"the ""core"" team"'],
    ['a line break', 'two\nlines', '"two\nlines"'],
    ['a formula', '=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['a leading plus', '+1', "'+1"],
    ['a leading minus', '-2+3', "'-2+3"],
    ['a leading at', '@SUM(A1)', "'@SUM(A1)"],
    ['a leading tab', '\t=1', "'\t=1"],
    ['an empty cell', '', ''],
  ])('%s', (_name, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

it('writes one header row, then one CRLF line per record', () => {
  const record = Object.fromEntries(REVIEW_COLUMNS.map((c) => [c, ''])) as ReviewRecord;
  const text = reviewCsv([{ ...record, record: 'access', person: 'alice@example.com', group: '=cmd' }]);
  const lines = text.split('\r\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toBe(REVIEW_COLUMNS.join(','));
  expect(lines[1]).toBe(`access,alice@example.com,,,,,,,'=cmd${','.repeat(REVIEW_COLUMNS.length - 9)}`);
  expect(lines[2]).toBe('');
});
