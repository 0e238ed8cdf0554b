// Proves that urlColumns writes the URL-derived columns as CommonCrawl writes them: the SURT
// key as the python `surt` library puts it into the CDX index, and the host and URL parts as
// cc-index-table's Java code (WarcUri, HostName, crawler-commons' EffectiveTldFinder) fills
// them. Every expected value in the tables below comes from a named source; the properties
// show that no string makes urlColumns throw and that the SURT key ignores what it must.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { readUrl, surtKey, urlColumns, type UrlColumns } from '../../adapters/warc/url-columns.ts';
import { escopeteUrlColumns } from '../support/escopete-url-columns.ts';
import { sharedFixtureUrl } from '../support/shared-fixtures.ts';

const fixtureUrl = new URL('commoncrawl/whirlwind.warc.gz', sharedFixtureUrl);

describe('urlColumns on the whirlwind tour capture', () => {
  it('writes the row the columnar index holds for https://an.wikipedia.org/wiki/Escopete', () => {
    expect(urlColumns('https://an.wikipedia.org/wiki/Escopete')).toEqual(escopeteUrlColumns);
  });

  it('reads that URL from the shared fixture, the WARC file the tour indexes', () => {
    const text = gunzipSync(readFileSync(fixtureUrl)).toString('latin1');
    const targets = new Set([...text.matchAll(/^WARC-Target-URI: (.*)\r$/gm)].map((match) => match[1]));
    expect([...targets]).toEqual(['https://an.wikipedia.org/wiki/Escopete']);
  });
});

// SURT keys and URLs of CDX lines that CommonCrawl published (quoted in cc-index-table's
// TestCCIndex2Table and in public code that reads the index), and the tests of the python
// surt library (internetarchive/surt tests/test_surt.py, test_surt).
const surtCases: readonly (readonly [url: string, key: string, source: string])[] = [
  ['https://commoncrawl.org/faq/', 'org,commoncrawl)/faq', 'cc-index-table TestCCIndex2Table, CC-MAIN-2022-05'],
  [
    'https://fusionbikes.com.ar/producto/luz-knog-blinder-mini-niner/',
    'ar,com,fusionbikes)/producto/luz-knog-blinder-mini-niner',
    'CDX CC-MAIN-2025-21',
  ],
  [
    'http://futbolinterior.com.ar/component/mailto/?tmpl=component&template=shaper_helix3&link=b2449dac9dd9dbc27fe2d9f8c9dfc250a10eb664',
    'ar,com,futbolinterior)/component/mailto?link=b2449dac9dd9dbc27fe2d9f8c9dfc250a10eb664&template=shaper_helix3&tmpl=component',
    'CDX CC-MAIN-2025-21',
  ],
  ['https://www.example.com/', 'com,example)/', 'CDX CC-MAIN-2026-08'],
  ['https://www.tesla.com/', 'com,tesla)/', 'CDX CC-MAIN-2023-40'],
  ['https://github.com/', 'com,github)/', 'CDX CC-MAIN-2020-29'],
  ['http://165.22.100.0/', '0,100,22,165)/', 'CDX CC-MAIN-2024-30'],
  ['http://165.22.100.0/robots.txt', '0,100,22,165)/robots.txt', 'CDX CC-MAIN-2024-30'],
  [
    'https://84.201.146.0/en/projects/aleksandr-solzhenitsyn-conference',
    '0,146,201,84)/en/projects/aleksandr-solzhenitsyn-conference',
    'CDX CC-MAIN-2023-23',
  ],
  [
    'http://2016legcoelection.hk01.com/candidate/tag/205/54',
    'com,hk01,2016legcoelection)/candidate/tag/205/54',
    'CDX CC-MAIN-2018-13',
  ],
  ['', '-', 'surt test_surt'],
  ['filedesc:foo.arc.gz', 'filedesc:foo.arc.gz', 'surt test_surt'],
  ['filedesc://foo.arc.gz', 'filedesc://foo.arc.gz', 'surt test_surt'],
  ['warcinfo:foo.warc.gz', 'warcinfo:foo.warc.gz', 'surt test_surt'],
  ['dns:alexa.com', 'dns:alexa.com', 'surt test_surt'],
  ['dns:archive.org', 'dns:archive.org', 'surt test_surt'],
  ['http://www.archive.org/', 'org,archive)/', 'surt test_surt'],
  ['http://archive.org/', 'org,archive)/', 'surt test_surt'],
  ['http://archive.org/goo/', 'org,archive)/goo', 'surt test_surt'],
  ['http://archive.org/goo/?', 'org,archive)/goo', 'surt test_surt'],
  ['http://archive.org/goo/?b&a', 'org,archive)/goo?a&b', 'surt test_surt'],
  ['http://archive.org/goo/?a=2&b&a=1', 'org,archive)/goo?a=1&a=2&b', 'surt test_surt'],
  [
    'http://archive.org/index.php?PHPSESSID=0123456789abcdefghijklemopqrstuv&action=profile;u=4221',
    'org,archive)/index.php?action=profile;u=4221',
    'surt test_surt',
  ],
  ['whois://whois.isoc.org.il/shaveh.co.il', 'il,org,isoc,whois)/shaveh.co.il', 'surt test_surt'],
  [
    'http://visit.webhosting.yahoo.com/visit.gif?&r=http%3A//web.archive.org/web/20090517140029/http%3A//anthonystewarthead.electric-chi.com/&b=Netscape%205.0%20%28Windows%3B%20en-US%29&s=1366x768&o=Win32&c=24&j=true&v=1.2',
    'com,yahoo,webhosting,visit)/visit.gif?&b=netscape%205.0%20(windows;%20en-us)&c=24&j=true&o=win32&r=http://web.archive.org/web/20090517140029/http://anthonystewarthead.electric-chi.com/&s=1366x768&v=1.2',
    'surt test_surt (Yahoo web bug)',
  ],
  ['mailto:foo@example.com', 'mailto:foo@example.com', 'surt test_surt'],
  ['ftp://www.example.com/', 'com,example)/', 'surt test_surt'],
];

describe('url_surtkey', () => {
  it.each(surtCases)('%s → %s (%s)', (url, key) => {
    expect(urlColumns(url).url_surtkey).toBe(key);
    expect(surtKey(url)).toBe(key);
  });

  // The canonicalisers' own tests (test_IAURLCanonicalizer, test_GoogleURLCanonicalizer,
  // test_handyurl_parse) state canonical URLs; the keys are those URLs in SURT form.
  it.each([
    ['http://ARCHIVE.ORG/', 'org,archive)/'],
    ['http://www.archive.org:80/', 'org,archive)/'],
    ['https://www.archive.org:80/', 'org,archive:80)/'],
    ['http://www.archive.org:443/', 'org,archive:443)/'],
    ['https://www.archive.org:443/', 'org,archive)/'],
    ['http://www.archive.org/big/', 'org,archive)/big'],
    ['http://www34.archive.org/index.html?b=a&b=b&a=b', 'org,archive)/index.html?a=b&b=a&b=b'],
    ['http://host/%25%32%35', 'host)/%25'],
    ['http://host/%2525252525252525', 'host)/%25'],
    [
      'http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/',
      '26,99,188,168)/.secure/www.ebay.com',
    ],
    ['http://3279880203/blah', '11,0,127,195)/blah'],
    ['http://www.google.com/blah/..', 'com,google)/'],
    ['http://www.google.com.../', 'com,google)/'],
    ['http://www.google.com/foo\tbar\rbaz\n2', 'com,google)/foobarbaz2'],
    ['http://evil.com/foo#bar#baz', 'com,evil)/foo'],
    ['http:// leadingspace.com/', 'com,%20leadingspace)/'],
    ['http://host.com//twoslashes?more//slashes', 'com,host)/twoslashes?more//slashes'],
    ['http:////////////////www.vikings.com', 'com,vikings)/'],
    ['http://https://order.1and1.com', 'com,1and1,order)/'],
    [
      'http://mineral.galleries.com:/minerals/silicate/chabazit/chabazit.htm',
      'com,galleries,mineral)/minerals/silicate/chabazit/chabazit.htm',
    ],
    ['http://bücher.ch:8080?#foo', 'ch,xn--bcher-kva:8080)/'],
    ['http://☃.com/', 'com,xn--n3h)/'],
    ['http://www.t%EF%BF%BD%04.82.net/', 'net,82,t%ef%bf%bd%04)/'],
  ])('%j → %s', (url, key) => {
    expect(surtKey(url)).toBe(key);
  });

  it('falls back to the raw string where surt raises, as CommonCrawl does', () => {
    expect(surtKey('http://example.com:99999/')).toBe('http://example.com:99999/');
    expect(surtKey('http://example.com:abc/x')).toBe('http://example.com:abc/x');
    expect(surtKey('   ')).toBe('   ');
  });

  it('marks a URL unreadable where surt or both Java parsers refuse it, so the row can be counted', () => {
    for (const url of ['http://example.com:99999/', 'http://example.com:abc/x', 'http://a.com:abc/x y', '   '])
      expect(readUrl(url).readable, url).toBe(false);
    for (const url of ['https://an.wikipedia.org/wiki/Escopete', 'dns:www.example.com', 'http://bücher.ch:8080?#foo'])
      expect(readUrl(url).readable, url).toBe(true);
    expect(readUrl('http://example.com:abc/x').columns).toEqual(urlColumns('http://example.com:abc/x'));
  });

  it('lets a bug in its own code throw rather than hide it behind the raw string', () => {
    const from = Buffer.from.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'from').mockImplementation(((value: unknown, ...rest: unknown[]) => {
      if (typeof value === 'string' && value.includes('bücher')) throw new TypeError('injected bug');
      return (from as (...args: unknown[]) => Buffer)(value, ...rest);
    }) as typeof Buffer.from);
    try {
      expect(() => surtKey('http://bücher.ch/')).toThrow('injected bug');
    } finally {
      spy.mockRestore();
    }
  });
});

type HostExpectation = Partial<UrlColumns>;

// cc-index-table's own tests: TestURL, HostNameTest, WarcUriTest; and the examples of its
// schema (src/main/resources/schema/cc-index-schema-flat.json).
const hostCases: readonly (readonly [url: string, expected: HostExpectation, source: string])[] = [
  [
    'http://123.123.123.123/index.html',
    {
      url_host_name: '123.123.123.123',
      url_host_tld: null,
      url_host_registry_suffix: null,
      url_host_registered_domain: null,
      url_host_name_reversed: null,
    },
    'TestURL.testIPAddress',
  ],
  [
    'http://example.invalid/',
    { url_host_tld: 'invalid', url_host_registry_suffix: null, url_host_registered_domain: null },
    'TestURL.testInvalidDomainName',
  ],
  [
    'http://www.example.com/index.html',
    { url_host_tld: 'com', url_host_registered_domain: 'example.com', url_host_private_domain: 'example.com' },
    'TestURL.testHostName',
  ],
  [
    'http://myblog.blogspot.com/',
    { url_host_private_domain: 'myblog.blogspot.com', url_host_registered_domain: 'blogspot.com' },
    'TestURL.testPrivateDomain',
  ],
  ['http://%f0%9f%a7%a0.s.country/', { url_host_name: 'xn--qv9h.s.country' }, 'HostNameTest, percent-encoded emoji'],
  ['http://🧠.s.country/', { url_host_name: 'xn--qv9h.s.country' }, 'HostNameTest, emoji'],
  ['http://münchen.de/', { url_host_name: 'xn--mnchen-3ya.de' }, 'HostNameTest, IDN'],
  ['http://WWW.Example.COM/', { url_host_name: 'www.example.com' }, 'HostNameTest, upper case'],
  ['https:////www.google.com/robot.txt', { url_host_name: 'www.google.com' }, 'WarcUriTest, four slashes'],
  ['http:////www.google.com/robot.txt', { url_host_name: 'www.google.com' }, 'WarcUriTest, four slashes'],
  ['http://sites.google.com////robot.txt', { url_host_name: 'sites.google.com' }, 'WarcUriTest, extra path slashes'],
  ['https://sites.google.com////robot.txt', { url_host_name: 'sites.google.com' }, 'WarcUriTest, extra path slashes'],
  [
    'https://www.example.com/path/index.html',
    { url_host_name: 'www.example.com', url_protocol: 'https', url_path: '/path/index.html' },
    'schema examples',
  ],
  [
    'http://bbc.co.uk/',
    { url_host_2nd_last_part: 'co', url_host_registry_suffix: 'co.uk', url_host_registered_domain: 'bbc.co.uk' },
    'schema examples',
  ],
  [
    'https://commoncrawl.s3.amazonaws.com/',
    {
      url_host_private_suffix: 's3.amazonaws.com',
      url_host_private_domain: 'commoncrawl.s3.amazonaws.com',
      url_host_registry_suffix: 'com',
    },
    'schema examples',
  ],
  ['http://host1.subdomain.example.com/', { url_host_4th_last_part: 'host1' }, 'schema examples'],
  ['http://host1.sub2.subdomain.example.com/', { url_host_5th_last_part: 'host1' }, 'schema examples'],
  [
    'https://example.com:8443/search?q=abc&lang=en',
    { url_port: 8443, url_path: '/search', url_query: 'q=abc&lang=en' },
    'schema examples',
  ],
];

describe('host and URL part columns', () => {
  it.each(hostCases)('%s (%s)', (url, expected) => {
    expect(urlColumns(url)).toMatchObject(expected);
  });
});

// Where no published row exists, the expected values follow the code of WarcUri and
// HostName step by step, with java.net.URL/URI of OpenJDK 17 run on each string for the
// parts, and surt's rules for the key.
const edgeCases: readonly (readonly [url: string, expected: HostExpectation])[] = [
  ['http://example.com', { url_path: '', url_query: null, url_surtkey: 'com,example)/' }],
  [
    'http://user:secret@Example.com./a%20b?',
    {
      url_host_name: 'example.com',
      url_host_name_reversed: 'com.example',
      url_path: '/a%20b',
      url_query: '',
      url_surtkey: 'com,example)/a%20b',
    },
  ],
  ['http://example.com:80/', { url_port: null }],
  ['http://example.com:8080/', { url_port: 8080, url_surtkey: 'com,example:8080)/' }],
  [
    'http://example.com:abc/',
    { url_protocol: 'http', url_host_name: null, url_host_tld: null, url_port: null, url_path: '/' },
  ],
  [
    'http://example.com/a b/%7e?x y',
    { url_path: '/a b/%7e', url_query: 'x y', url_surtkey: 'com,example)/a%20b/~?x%20y' },
  ],
  [
    'http://1234567/',
    { url_host_name: '0.18.214.135', url_host_tld: null, url_host_name_reversed: null, url_surtkey: '135,214,18,0)/' },
  ],
  [
    'http://[2001:db8::1]:8080/x',
    { url_host_name: '[2001:db8::1]', url_host_tld: null, url_port: 8080, url_path: '/x' },
  ],
  [
    'http://www.city.kawasaki.jp/',
    { url_host_registry_suffix: 'city.kawasaki.jp', url_host_registered_domain: 'city.kawasaki.jp' },
  ],
  // IDNA 2003, as Java's IDN.toASCII and python's idna codec: `ß` becomes `ss`.
  ['http://straße.de/', { url_host_name: 'strasse.de', url_surtkey: 'de,strasse)/' }],
  ['http://İstanbul.tr/', { url_host_name: 'xn--istanbul-o0e.tr' }],
  [
    'http://пример.рф/',
    {
      url_host_name: 'xn--e1afmkfd.xn--p1ai',
      url_host_registry_suffix: 'xn--p1ai',
      url_surtkey: 'xn--p1ai,xn--e1afmkfd)/',
    },
  ],
  [
    'dns:www.example.com',
    {
      url_protocol: 'dns',
      url_host_name: 'www.example.com',
      url_host_registered_domain: 'example.com',
      url_path: null,
      url_query: null,
      url_surtkey: 'dns:www.example.com',
    },
  ],
  [
    'whois://whois.iana.org/example.com',
    {
      url_protocol: 'whois',
      url_host_name: 'example.com',
      url_path: '/example.com',
      url_surtkey: 'org,iana,whois)/example.com',
    },
  ],
  ['not a url', { url_protocol: null, url_host_name: null, url_path: null, url_surtkey: 'not%20a%20url)/' }],
  ['', { url_protocol: null, url_host_name: null, url_surtkey: '-' }],
];

describe('weird but real-world URLs', () => {
  it.each(edgeCases)('%j', (url, expected) => {
    expect(urlColumns(url)).toMatchObject(expected);
  });
});

const webUrl = fc.webUrl({
  withQueryParameters: true,
  withFragments: true,
  authoritySettings: { withPort: true, withUserInfo: true, withIPv4: true, withIPv6: true, withIPv4Extended: true },
});

describe('properties', () => {
  it('never throws, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), webUrl), (url) => {
        const columns = urlColumns(url);
        expect(typeof columns.url_surtkey).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('reverses the host name into url_host_name_reversed', () => {
    fc.assert(
      fc.property(webUrl, (url) => {
        const columns = urlColumns(url);
        if (columns.url_host_name_reversed === null) return;
        expect(columns.url_host_name_reversed.split('.').reverse().join('.')).toBe(columns.url_host_name);
        expect(columns.url_host_tld).toBe(columns.url_host_name_reversed.split('.')[0]);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives one SURT key to URLs differing only in www., letter case and argument order', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const argument = fc.tuple(fc.stringMatching(/^[a-z]{1,3}$/), fc.stringMatching(/^[a-z0-9]{0,5}$/));
    const variant = fc.record({
      scheme: fc.constantFrom('http', 'https'),
      labels: fc.array(label, { minLength: 1, maxLength: 3 }).filter((labels) => !/^www\d*$/.test(labels[0] ?? '')),
      tld: fc.constantFrom('com', 'org', 'co.uk', 'de'),
      path: fc.array(fc.stringMatching(/^[a-z0-9._-]{1,6}$/), { maxLength: 3 }),
      query: fc.array(argument, { maxLength: 4 }),
    });
    const changes = fc.record({
      www: fc.boolean(),
      casing: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(variant, changes, (parts, change) => {
        const host = `${parts.labels.join('.')}.${parts.tld}`;
        const build = (hostName: string, query: readonly (readonly [string, string])[]) =>
          `${parts.scheme}://${hostName}/${parts.path.join('/')}${query.length > 0 ? `?${query.map(([name, value]) => `${name}=${value}`).join('&')}` : ''}`;
        const reordered = parts.query
          .map((pair, index) => ({ pair, key: change.order[index] ?? 0 }))
          .sort((left, right) => left.key - right.key)
          .map(({ pair }) => pair);
        const changed = [...build(`${change.www ? 'www.' : ''}${host}`, reordered)]
          .map((character, index) => (change.casing[index % 64] ? character.toUpperCase() : character))
          .join('');
        expect(surtKey(changed)).toBe(surtKey(build(host, parts.query)));
      }),
      { numRuns: 1000 },
    );
  });
});
