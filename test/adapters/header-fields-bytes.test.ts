// Proves that `HeaderFields.addBytes` (a line's name looked up by its bytes, only its value
// decoded) keeps the very fields `add` keeps from the line decoded as UTF-8, and that
// `LineReader.readRange` finds the lines `read` finds: on random lines of header-like text,
// Unicode spaces, invalid UTF-8 and control bytes, folded lines and repeated names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeaderFields, LineReader, trimmedUtf8 } from '../../adapters/warc/line-reader.ts';

const namePieces = ['WARC-Type', 'content-length', 'Content-Type', 'X', 'warc-date', 'Location', 'Set-Cookie'];
const textPieces = [
  ' ',
  '\t',
  '\v',
  '\f',
  ':',
  'a',
  'Z',
  '0',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\ufeff',
  'é',
  '\u0000',
  '\u007f',
];

/** Bytes of a header-like line: names and text pieces as UTF-8, with raw bytes between (invalid UTF-8 among them). */
const lineBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom(...namePieces, ...textPieces).map((text) => Buffer.from(text, 'utf8')),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((bytes) => Buffer.from(bytes)),
    ),
    { maxLength: 12 },
  )
  .map((pieces) => Buffer.concat(pieces))
  // A line holds no line feed, and its CRs before the end are dropped by the reader.
  .map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0x0a)));

function fieldsOf(fields: HeaderFields, names: readonly string[]): (string | null)[] {
  return names.map((name) => fields.get(name));
}

describe('HeaderFields.addBytes', () => {
  it('keeps what add keeps from the decoded line, in either mode', () => {
    fc.assert(
      fc.property(fc.array(lineBytes, { maxLength: 8 }), fc.boolean(), (lines, keepAll) => {
        const fromText = new HeaderFields(keepAll);
        const fromBytes = new HeaderFields(keepAll);
        const names = new Set<string>(namePieces.map((name) => name.toLowerCase()));
        for (const line of lines) {
          const text = line.toString('utf8');
          fromText.add(text);
          // Padded, so that the range is not the whole buffer.
          const padded = Buffer.concat([Buffer.from('ab'), line, Buffer.from(':c')]);
          fromBytes.addBytes(padded, 2, 2 + line.length);
          const colon = text.indexOf(':');
          if (colon > 0) names.add(text.slice(0, colon).trim().toLowerCase());
        }
        expect(fieldsOf(fromBytes, [...names])).toEqual(fieldsOf(fromText, [...names]));
        expect(fromBytes.entries()).toEqual(fromText.entries());
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the usual WARC and HTTP lines as add does', () => {
    const lines = [
      'WARC-Type: response',
      'warc-type: request',
      'Content-Length:   1234  ',
      'WARC-Target-URI: http://example.com/é',
      '  folded on',
      'Location:',
      'Server : nginx',
      ': no name',
      'no colon',
    ];
    const fromText = new HeaderFields(true);
    const fromBytes = new HeaderFields(true);
    for (const line of lines) {
      fromText.add(line);
      const bytes = Buffer.from(line, 'utf8');
      fromBytes.addBytes(bytes, 0, bytes.length);
    }
    expect(fromBytes.entries()).toEqual(fromText.entries());
    expect(fromBytes.get('warc-type')).toBe('response');
    expect(fromBytes.get('content-length')).toBe('1234');
    expect(fromBytes.get('warc-target-uri')).toBe('http://example.com/é folded on');
    expect(fromBytes.get('server')).toBe('nginx');
  });
});

describe('trimmedUtf8', () => {
  it('is toString("utf8").trim() on any bytes', () => {
    fc.assert(
      fc.property(lineBytes, (bytes) => {
        expect(trimmedUtf8(bytes, 0, bytes.length)).toBe(bytes.toString('utf8').trim());
      }),
      { numRuns: 3000 },
    );
  });
});

describe('LineReader.readRange', () => {
  it('finds the lines read finds, however the bytes are cut', () => {
    const text = fc.array(fc.constantFrom('a', 'é', '\r', '\n', ' ', 'WARC/1.0', '\r\n'), { maxLength: 40 });
    fc.assert(
      fc.property(text, fc.array(fc.nat({ max: 60 }), { maxLength: 4 }), (pieces, cuts) => {
        const bytes = Buffer.from(pieces.join(''), 'utf8');
        const bounds = [...new Set([0, ...cuts.filter((cut) => cut < bytes.length), bytes.length])].sort(
          (a, b) => a - b,
        );
        const byText = new LineReader();
        const byRange = new LineReader();
        const linesByText: string[] = [];
        const linesByRange: string[] = [];
        for (let piece = 0; piece + 1 < bounds.length; piece++) {
          const [start = 0, end = 0] = [bounds[piece], bounds[piece + 1]];
          for (let index = start; index < end;) {
            const result = byText.read(bytes, index, end);
            const kind = byRange.readRange(bytes, index, end);
            expect(kind).toBe(result.kind);
            if (result.kind !== 'line') break;
            linesByText.push(result.text);
            linesByRange.push(byRange.line.text());
            expect(byRange.line.next).toBe(result.next);
            expect(byRange.line.empty).toBe(result.text.length === 0);
            index = result.next;
          }
        }
        expect(linesByRange).toEqual(linesByText);
      }),
      { numRuns: 2000 },
    );
  });
});
