// Proves that the head-only scan's reading of a WARC header from its bytes (`readHeaderFields`:
// the two fields that place a record's end) finds what reading each line as a latin1 string,
// trimmed and lower-cased, finds: on random headers of those names in any case, spaces and
// no-break spaces around names and values, CR runs, folded lines, repeats and non-ASCII bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HeaderFieldsRead, readHeaderFields } from '../../adapters/warc/member-head.ts';

/** The string-based reading this scan replaced, kept as the reference. */
function referenceFields(output: Buffer, lineBytesMax: number): HeaderFieldsRead {
  let contentLength: number | null = null;
  let type: string | null = null;
  let seenLength = false;
  let seenType = false;
  let start = 0;
  for (let turn = 0; turn <= output.length; turn++) {
    const lineEnd = output.indexOf(0x0a, start);
    if (lineEnd === -1) return output.length - start > lineBytesMax ? { kind: 'unsupported' } : { kind: 'more' };
    if (lineEnd - start > lineBytesMax) return { kind: 'unsupported' };
    let textEnd = lineEnd;
    while (textEnd > start && output[textEnd - 1] === 0x0d) textEnd--;
    const next = lineEnd + 1;
    if (turn > 0 && textEnd === start) return { kind: 'fields', contentLength, type, end: next };
    const first = output[start];
    if (turn > 0 && (first === 0x20 || first === 0x09)) return { kind: 'unsupported' };
    if (turn > 0) {
      const line = output.toString('latin1', start, textEnd);
      const colon = line.indexOf(':');
      const name = colon <= 0 ? '' : line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length' && !seenLength) {
        seenLength = true;
        contentLength = /^\d{1,15}$/.test(value) ? Number(value) : null;
      } else if (name === 'warc-type' && !seenType) {
        seenType = true;
        type = value;
      }
    }
    start = next;
  }
  return { kind: 'more' };
}

const names = [
  'Content-Length',
  'content-length',
  'CONTENT-LENGTH',
  'WARC-Type',
  'warc-type',
  'Warc-TYPE',
  'X',
  'warc-typ',
];
const spaces = ['', ' ', '\t', '\xa0', '\v', ' \xa0 '];
const values = ['123', '0', '000000000000001', '1234567890123456', '12a', '', 'response', 'é', '\xb5', '-1', '1 2'];

const line = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...spaces),
      fc.constantFrom(...names),
      fc.constantFrom(...spaces),
      fc.constantFrom(':', '', '::'),
      fc.constantFrom(...spaces),
      fc.constantFrom(...values),
      fc.constantFrom(...spaces),
      fc.constantFrom('\r\n', '\n', '\r\r\n'),
    )
    .map((parts) => parts.join('')),
  fc.constantFrom('\r\n', ' folded\r\n', ': x\r\n', 'no colon\n'),
  fc.string({ maxLength: 12 }).map((text) => `${text}\n`),
);

describe('readHeaderFields', () => {
  it('reads what the string-based reading reads', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.integer({ min: 4, max: 200 }), (lines, lineBytesMax) => {
        const output = Buffer.from(['WARC/1.0\r\n', ...lines].join(''), 'latin1');
        expect(readHeaderFields(output, lineBytesMax)).toEqual(referenceFields(output, lineBytesMax));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a usual header', () => {
    const output = Buffer.from('WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 42\r\n\r\n', 'latin1');
    expect(readHeaderFields(output, 1024)).toEqual({
      kind: 'fields',
      contentLength: 42,
      type: 'response',
      end: output.length,
    });
  });
});
