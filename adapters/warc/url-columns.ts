import { isIPv6 } from 'node:net';
import { parse as parsePublicSuffix } from 'tldts';
import type { CaptureRow } from '../../core/capture-row.ts';

/** The columns of a capture row that depend only on its URL. */
export type UrlColumns = Pick<
  CaptureRow,
  | 'url_surtkey'
  | 'url_host_name'
  | 'url_host_tld'
  | 'url_host_2nd_last_part'
  | 'url_host_3rd_last_part'
  | 'url_host_4th_last_part'
  | 'url_host_5th_last_part'
  | 'url_host_registry_suffix'
  | 'url_host_registered_domain'
  | 'url_host_private_suffix'
  | 'url_host_private_domain'
  | 'url_host_name_reversed'
  | 'url_protocol'
  | 'url_port'
  | 'url_path'
  | 'url_query'
>;

/*
 * Two programs write these columns in CommonCrawl, and we follow each one:
 * - `url_surtkey` comes from the CDX index, written by the python `surt` library
 *   (internetarchive/surt 0.3.1: handyurl, GoogleURLCanonicalizer, IAURLCanonicalizer).
 *   It works on UTF-8 bytes, so this file does too, holding bytes in "binary" strings
 *   (one char per byte, like Buffer's latin1).
 * - every other column comes from cc-index-table's `WarcUri` and `HostName` (Java):
 *   `java.net.URL` splits the URL (falling back to `java.net.URI` for schemes such as
 *   `dns:` and `whois:`), `HostName` normalises the host, crawler-commons'
 *   `EffectiveTldFinder` reads the public suffix list.
 * One deliberate difference: cc-index-table keeps an explicit default port
 * (`http://a.com:80/` gives 80); the output schema wants null there (docs/architecture.md). The
 * crawler behind CommonCrawl drops default ports before fetching, so its data never differs.
 */

/**
 * The URL-derived columns, and whether the URL read as a URL: false where surt cannot make a
 * SURT key (the column then holds the raw string, as in CommonCrawl) or where neither
 * java.net.URL nor java.net.URI accepts it (its protocol, host, path and query are null).
 */
export interface ReadUrl {
  readonly columns: UrlColumns;
  readonly readable: boolean;
}

/**
 * Builds every URL-derived column of a capture row. Any string gives columns; a throw here is
 * a bug of this file and is left to fail the job, never to write a wrong row.
 */
export function readUrl(url: string): ReadUrl {
  const parts = javaUrlParts(url);
  const host = parts.hostName === null ? null : normalisedHost(parts.hostName);
  const key = surtKeyOrNull(url);
  const columns = {
    url_surtkey: key ?? url,
    ...hostColumns(host),
    url_protocol: parts.protocol,
    url_port: parts.port === null || parts.port === defaultPorts.get(parts.protocol ?? '') ? null : parts.port,
    url_path: parts.path,
    url_query: parts.query,
  };
  return { columns, readable: key !== null && parts !== noParts };
}

/** The URL-derived columns alone. */
export function urlColumns(url: string): UrlColumns {
  return readUrl(url).columns;
}

// ---------------------------------------------------------------------------------------
// URL parts, the way java.net.URL (and java.net.URI after it) split them.

interface UrlParts {
  protocol: string | null;
  /** The host before `HostName` normalises it; null where cc-index-table has no host. */
  hostName: string | null;
  port: number | null;
  path: string | null;
  query: string | null;
}

const noParts: UrlParts = { protocol: null, hostName: null, port: null, path: null, query: null };
const defaultPorts = new Map([
  ['http', 80],
  ['https', 443],
  ['ftp', 21],
]);
/** java.net.URL throws "unknown protocol" for every other scheme; cc-index-table then tries java.net.URI. */
const javaUrlProtocols = new Set(['http', 'https', 'ftp', 'file', 'mailto']);
const javaSchemePattern = /^[a-z][a-z0-9+.-]*$/;

function javaUrlParts(url: string): UrlParts {
  const parts = javaUrlSplit(url);
  if (parts === undefined) return javaUriParts(url);
  // cc-index-table's WarcUri recovers the host of `https:////www.google.com/robot.txt`
  // (its WarcUriTest), which java.net.URL alone leaves empty.
  if (parts.hostName === '' && (parts.protocol === 'http' || parts.protocol === 'https')) {
    const repaired = url.replace(/^(\s*https?:)\/{3,}/i, '$1//');
    if (repaired !== url) return javaUrlSplit(repaired) ?? parts;
  }
  return parts;
}

/** Splits like `new java.net.URL(spec)`; undefined where it throws MalformedURLException. */
function javaUrlSplit(spec: string): UrlParts | undefined {
  let start = 0;
  let limit = spec.length;
  while (limit > 0 && spec.charCodeAt(limit - 1) <= 0x20) limit--;
  while (start < limit && spec.charCodeAt(start) <= 0x20) start++;
  if (spec.slice(start, start + 4).toLowerCase() === 'url:') start += 4;
  const colon = spec.indexOf(':', start);
  const slash = spec.indexOf('/', start);
  if (colon < 0 || colon >= limit || (slash >= 0 && slash < colon) || spec[start] === '#') return undefined;
  const protocol = spec.slice(start, colon).toLowerCase();
  if (!javaUrlProtocols.has(protocol)) return undefined;
  start = colon + 1;
  const hash = spec.indexOf('#', start);
  if (hash >= 0 && hash < limit) limit = hash;
  if (protocol === 'mailto') return mailtoParts(spec.slice(start, limit));
  return javaUrlDefaultParts(protocol, spec.slice(0, limit), start);
}

function mailtoParts(rest: string): UrlParts | undefined {
  // Java's mailto handler refuses an empty address.
  if (rest.trim() === '') return undefined;
  const question = rest.indexOf('?');
  const path = question < 0 ? rest : rest.slice(0, question);
  return { protocol: 'mailto', hostName: '', port: null, path, query: question < 0 ? null : rest.slice(question + 1) };
}

/** The rules of URLStreamHandler.parseURL, for a spec already cut at `#`. */
function javaUrlDefaultParts(protocol: string, spec: string, start: number): UrlParts | undefined {
  let query: string | null = null;
  const question = spec.indexOf('?', start);
  if (question >= 0) {
    query = spec.slice(question + 1);
    spec = spec.slice(0, question);
  }
  let hostName = '';
  let port: number | null = null;
  let path = '';
  // Four slashes mean a UNC name to Java: no authority at all.
  const hasAuthority = spec.startsWith('//', start) && !spec.startsWith('////', start);
  if (hasAuthority) {
    const authorityEnd = spec.indexOf('/', start + 2) < 0 ? spec.length : spec.indexOf('/', start + 2);
    const authority = javaAuthority(spec.slice(start + 2, authorityEnd));
    if (authority === undefined) return undefined;
    ({ hostName, port } = authority);
    start = authorityEnd;
  }
  if (start < spec.length) path = spec.slice(start);
  return { protocol, hostName, port, path, query };
}

function javaAuthority(authority: string): { hostName: string; port: number | null } | undefined {
  const at = authority.indexOf('@');
  // Java gives up on the host (but not the URL) when the authority holds two `@`.
  if (at !== authority.lastIndexOf('@')) return { hostName: '', port: null };
  const hostAndPort = authority.slice(at + 1);
  if (hostAndPort.startsWith('[')) return javaBracketedHost(hostAndPort);
  const colon = hostAndPort.indexOf(':');
  // HostName lowers the host with Locale.ROOT, which is what toLowerCase does.
  if (colon < 0) return { hostName: hostAndPort.toLowerCase(), port: null };
  const port = javaPort(hostAndPort.slice(colon + 1));
  return port === undefined ? undefined : { hostName: hostAndPort.slice(0, colon).toLowerCase(), port };
}

function javaBracketedHost(hostAndPort: string): { hostName: string; port: number | null } | undefined {
  const close = hostAndPort.indexOf(']');
  if (close <= 2 || !isIPv6(hostAndPort.slice(1, close))) return undefined;
  const rest = hostAndPort.slice(close + 1);
  if (rest !== '' && !rest.startsWith(':')) return undefined;
  const port = javaPort(rest.slice(1));
  return port === undefined ? undefined : { hostName: hostAndPort.slice(0, close + 1).toLowerCase(), port };
}

/** Integer.parseInt's rules: a sign, decimal digits, 32 bits; -1 and empty mean "no port". */
function javaPort(text: string): number | null | undefined {
  if (text === '') return null;
  if (!/^[+-]?\d{1,10}$/.test(text)) return undefined;
  const port = Number(text);
  if (port > 0x7fffffff || port < -1) return undefined;
  return port === -1 ? null : port;
}

/**
 * What java.net.URI yields where java.net.URL refused: `dns:` and `whois:` records,
 * bad ports, unknown schemes. A string URI rejects gives no parts at all.
 */
function javaUriParts(url: string): UrlParts {
  const hash = url.indexOf('#');
  const body = hash < 0 ? url : url.slice(0, hash);
  if (!isLegalJavaUri(url, body)) return noParts;
  const colon = body.indexOf(':');
  const firstDelimiter = body.search(/[/?]/);
  // A colon before any `/` or `?` must end a scheme, or URI refuses the string.
  if (colon < 0 || (firstDelimiter >= 0 && firstDelimiter < colon)) return hierarchicalUriParts(null, body);
  const scheme = body.slice(0, colon);
  const rest = body.slice(colon + 1);
  if (!javaSchemePattern.test(scheme.toLowerCase()) || rest === '') return noParts;
  if (!rest.startsWith('/')) return opaqueUriParts(scheme, rest);
  return hierarchicalUriParts(scheme, rest);
}

function isLegalJavaUri(url: string, body: string): boolean {
  if (url.indexOf('#', body.length + 1) >= 0) return false;
  // Spaces, controls and the characters RFC 2396 excludes; `%` only as an escape.
  return !/[\x00-\x20"<>\\^`{|}\x7f]|%(?![0-9a-fA-F]{2})/.test(url);
}

/** Opaque URIs (`dns:www.example.com`) have no path or query, only a scheme-specific part. */
function opaqueUriParts(scheme: string, schemeSpecificPart: string): UrlParts {
  const decoded = percentDecodeUtf8(schemeSpecificPart);
  // HostName takes the queried name of `dns:` records as host, unlowered; others have none.
  const hostName = scheme === 'dns' ? decoded : scheme === 'whois' ? stripLeadingSlashes(decoded) : null;
  return { protocol: scheme, hostName, port: null, path: null, query: null };
}

/** Hierarchical URIs, and relative ones (scheme null: HostName then finds no host). */
function hierarchicalUriParts(scheme: string | null, rest: string): UrlParts {
  let pathStart = 0;
  let server: { host: string; port: number | null } | null = null;
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?]/);
    pathStart = end < 0 ? rest.length : end + 2;
    const authority = rest.slice(2, pathStart);
    // Brackets may only enclose an IPv6 literal in the authority.
    if (/[[\]]/.test(authority) && !/^([^@]*@)?\[[0-9a-fA-F:.%]+\](:\d*)?$/.test(authority)) return noParts;
    server = javaUriServer(authority);
  }
  const question = rest.indexOf('?', pathStart);
  const rawPath = rest.slice(pathStart, question < 0 ? rest.length : question);
  if (/[[\]]/.test(rawPath)) return noParts;
  const path = percentDecodeUtf8(rawPath);
  const query = question < 0 ? null : percentDecodeUtf8(rest.slice(question + 1));
  // HostName reads whois: URIs as `whois://server/queried-name` and keeps the queried name.
  const hostName =
    scheme === null ? null : scheme === 'whois' ? stripLeadingSlashes(path) : (server?.host.toLowerCase() ?? null);
  return { protocol: scheme, hostName, port: server?.port ?? null, path, query };
}

/** A server-based authority, or null for what java.net.URI reads as registry-based (no host). */
function javaUriServer(authority: string): { host: string; port: number | null } | null {
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]*)(?::(\d*))?$/.exec(hostAndPort);
  if (match === null) return null;
  const host = match[1] ?? '';
  const port = match[2] === undefined || match[2] === '' ? null : Number(match[2]);
  const isHostname = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host);
  if (host === '' || (!isHostname && !host.startsWith('[')) || (port !== null && port > 0x7fffffff)) return null;
  return { host, port };
}

function stripLeadingSlashes(text: string): string {
  let index = 0;
  while (text[index] === '/') index++;
  return text.slice(index);
}

// ---------------------------------------------------------------------------------------
// Host columns, the way cc-index-table's HostName fills them.

interface NormalisedHost {
  name: string;
  /** Labels from the right; null for IP addresses, as in HostName.getReverseHost(). */
  reversedLabels: string[] | null;
}

const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d{1,2})';
const ipv4Canonical = new RegExp(`^(?:${octet}\\.){3}${octet}$`);
const ipv4Variant = new RegExp(`^(?:${octet}\\.){0,3}\\d+$`);
const ipv6Bracketed = /^\[[0-9a-fA-F:]+\]$/;

function normalisedHost(raw: string): NormalisedHost {
  const first = raw.charCodeAt(0);
  if ((first >= 0x30 && first <= 0x39) || first === 0x5b) {
    if (ipv4Canonical.test(raw) || ipv6Bracketed.test(raw)) return { name: raw, reversedLabels: null };
    // HostName canonicalises `1234567` or `1.2.3` through InetAddress; when that fails it
    // keeps the name but, by the shape of its code, computes no labels.
    if (ipv4Variant.test(raw)) return { name: javaInetAddress(raw) ?? raw, reversedLabels: null };
  }
  let name = raw.includes('%') ? urlDecodedHost(raw) : raw;
  if (!isAscii(name)) name = asciiHost(name);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return { name, reversedLabels: javaSplitOnDots(name).reverse() };
}

/** InetAddress.getByName for decimal IPv4 forms, which it reads up to 15 characters long. */
function javaInetAddress(text: string): string | null {
  return text.length > 15 ? null : ipv4FromParts(text.split('.').map(Number));
}

/** URLDecoder.decode as HostName uses it: `+` is a space, a malformed escape keeps the host. */
function urlDecodedHost(host: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(host)) return host;
  return percentDecodeUtf8(host.replaceAll('+', ' '));
}

/**
 * IDN.toASCII label by label; a label it cannot convert stays as it is, as in HostName's
 * fallback for names IDN.toASCII refuses (its HostNameTest).
 */
function asciiHost(host: string): string {
  return host
    .split(labelSeparators)
    .map((label) => asciiLabel(label) ?? label)
    .join('.');
}

const labelSeparators = /[.\u3002\uff0e\uff61]/;

/**
 * ToASCII of IDNA 2003 for one label, which both Java's IDN and python's `idna` codec
 * implement: nameprep, then punycode unless the result is ASCII; null where it refuses.
 * Nameprep here uses Unicode's current case folding and NFKC where theirs is Unicode 3.2,
 * and skips the check of right-to-left labels: real host names come out the same.
 */
function asciiLabel(label: string): string | null {
  if (isAscii(label)) return label;
  const prepared = nameprep(label);
  if (prepared === null || isAscii(prepared)) return prepared;
  // Each character costs punycode at least one letter and a label holds 63 with `xn--`:
  // refusing longer ones early also bounds punycode's quadratic loop.
  if (prepared.startsWith('xn--') || prepared.length > 2 * 63 || Array.from(prepared).length > 59) return null;
  return `xn--${punycode(prepared)}`;
}

// The classes list combining marks one by one, as RFC 3454's tables do: none is meant to combine.
// eslint-disable-next-line no-misleading-character-class
const mappedToNothing = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
/** RFC 3491's prohibited characters: non-ASCII spaces and controls, private use, surrogates and the like. */
const nameprepProhibited =
  // eslint-disable-next-line no-misleading-character-class
  /[\u0080-\u00a0\u0340\u0341\u06dd\u070f\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2063\u206a-\u206f\u2ff0-\u2ffb\u3000\ud800-\udfff\ue000-\uf8ff\ufdd0-\ufdef\ufeff\ufff9-\uffff\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}\u{f0000}-\u{10ffff}]/u;

function nameprep(label: string): string | null {
  const folded = label.replace(mappedToNothing, '').toLowerCase().normalize('NFKC').toLowerCase();
  // Case folding, unlike lower-casing, turns `ß` into `ss` and a final sigma into `σ`.
  const prepared = folded.replace(/\u00df/g, 'ss').replace(/\u03c2/g, '\u03c3');
  return nameprepProhibited.test(prepared) ? null : prepared;
}

/** RFC 3492 Bootstring with punycode's parameters, the part after `xn--`. */
function punycode(text: string): string {
  const codePoints = Array.from(text, (character) => character.codePointAt(0) as number);
  const basic = text.replace(/[^\x00-\x7f]/g, '');
  let output = basic + (basic.length > 0 ? '-' : '');
  let handled = basic.length;
  let codePoint = 0x80;
  let delta = 0;
  let bias = 72;
  while (handled < codePoints.length) {
    const next = codePoints.reduce((least, code) => (code >= codePoint && code < least ? code : least), Infinity);
    delta += (next - codePoint) * (handled + 1);
    codePoint = next;
    for (const code of codePoints) {
      if (code < codePoint) delta++;
      if (code !== codePoint) continue;
      output += punycodeNumber(delta, bias);
      bias = punycodeBias(delta, handled + 1, handled === basic.length);
      delta = 0;
      handled++;
    }
    delta++;
    codePoint++;
  }
  return output;
}

/** A generalized variable-length integer of RFC 3492 section 3.3. */
function punycodeNumber(value: number, bias: number): string {
  let output = '';
  let rest = value;
  for (let weight = 36; ; weight += 36) {
    const threshold = weight <= bias ? 1 : weight >= bias + 26 ? 26 : weight - bias;
    if (rest < threshold) break;
    output += punycodeDigit(threshold + ((rest - threshold) % (36 - threshold)));
    rest = Math.floor((rest - threshold) / (36 - threshold));
  }
  return output + punycodeDigit(rest);
}

function punycodeDigit(digit: number): string {
  return String.fromCharCode(digit < 26 ? 0x61 + digit : 0x30 + digit - 26);
}

function punycodeBias(delta: number, count: number, first: boolean): number {
  let scaled = first ? Math.floor(delta / 700) : Math.floor(delta / 2);
  scaled += Math.floor(scaled / count);
  let weight = 0;
  for (; scaled > 455; weight += 36) scaled = Math.floor(scaled / 35);
  return weight + Math.floor((36 * scaled) / (scaled + 38));
}

/** Java's String.split: trailing empty strings dropped, but "" splits into [""]. */
function javaSplitOnDots(name: string): string[] {
  const labels = name.split('.');
  if (name === '') return labels;
  while (labels.length > 0 && labels[labels.length - 1] === '') labels.pop();
  return labels;
}

function hostColumns(
  host: NormalisedHost | null,
): Omit<UrlColumns, 'url_surtkey' | 'url_protocol' | 'url_port' | 'url_path' | 'url_query'> {
  const name = host?.name ?? null;
  const labels = host?.reversedLabels ?? null;
  // HostName looks suffixes up for host names only, not for IP addresses.
  const registry = name !== null && labels !== null ? suffixAndDomain(name, false) : noSuffix;
  const privately = name !== null && labels !== null ? suffixAndDomain(name, true) : noSuffix;
  return {
    url_host_name: name,
    url_host_tld: labels?.[0] ?? null,
    url_host_2nd_last_part: labels?.[1] ?? null,
    url_host_3rd_last_part: labels?.[2] ?? null,
    url_host_4th_last_part: labels?.[3] ?? null,
    url_host_5th_last_part: labels?.[4] ?? null,
    url_host_registry_suffix: registry.suffix,
    url_host_registered_domain: registry.domain,
    url_host_private_suffix: privately.suffix,
    url_host_private_domain: privately.domain,
    url_host_name_reversed: labels === null ? null : labels.join('.'),
  };
}

// ---------------------------------------------------------------------------------------
// Public suffix list, read the way crawler-commons' EffectiveTldFinder reads it.

interface SuffixAndDomain {
  suffix: string | null;
  domain: string | null;
}

const noSuffix: SuffixAndDomain = { suffix: null, domain: null };
/**
 * The list's exception rules (`!city.kawasaki.jp`). crawler-commons returns the exception
 * name itself as suffix and domain, where tldts follows the list's algorithm (suffix
 * `kawasaki.jp`). These rules have not changed in a decade.
 */
const exceptionRules = new Set([
  'www.ck',
  'city.kawasaki.jp',
  'city.kitakyushu.jp',
  'city.kobe.jp',
  'city.nagoya.jp',
  'city.sapporo.jp',
  'city.sendai.jp',
  'city.yokohama.jp',
]);

function suffixAndDomain(host: string, withPrivateDomains: boolean): SuffixAndDomain {
  // Only whole labels can match a rule; tldts would quietly drop a trailing dot.
  if (host === '' || host.endsWith('.')) return noSuffix;
  const result = parsePublicSuffix(host, {
    allowPrivateDomains: withPrivateDomains,
    extractHostname: false,
    validateHostname: false,
    detectIp: false,
    mixedInputs: false,
  });
  const suffix = result.publicSuffix;
  // crawler-commons has no implicit `*` rule: a name under an unlisted TLD has no suffix.
  if (suffix === null || !(result.isIcann === true || (withPrivateDomains && result.isPrivate === true)))
    return noSuffix;
  const domain = result.domain;
  if (domain !== null && exceptionRules.has(domain)) return { suffix: domain, domain };
  return { suffix, domain: isStrictDomain(host, suffix) ? domain : null };
}

/** getAssignedDomain(strict): no empty label left of the suffix, a domain label of 1–63. */
function isStrictDomain(host: string, suffix: string): boolean {
  if (host.length <= suffix.length) return false;
  const prefix = host.slice(0, host.length - suffix.length - 1);
  if (prefix === '' || prefix.startsWith('.') || prefix.includes('..')) return false;
  return prefix.length - prefix.lastIndexOf('.') - 1 <= 63;
}

// ---------------------------------------------------------------------------------------
// SURT key, the way the python `surt` library writes it for CommonCrawl's CDX index.

interface SurtUrl {
  scheme: string;
  host: string | null;
  port: number | null;
  path: string | null;
  query: string | null;
}

/** The SURT key; like CommonCrawl, the raw string where surt cannot make one. */
export function surtKey(url: string): string {
  return surtKeyOrNull(url) ?? url;
}

/** The SURT key, or null where python's surt raises (a bad port, nothing left after trimming). */
function surtKeyOrNull(url: string): string | null {
  if (url === '') return '-';
  const bytes = utf8Binary(url);
  // surt passes `filedesc:` names of ARC files through as they are, by design.
  if (bytes.startsWith('filedesc')) return url;
  const parsed = surtParse(bytes);
  if (parsed === undefined) return null;
  googleCanonicalise(parsed);
  iaCanonicalise(parsed);
  return formatSurt(parsed);
}

/**
 * handyurl.parse, whose RFC 2396 regular expression is spelled out here with indexOf
 * (a third of the cost); undefined where surt raises (a bad port, nothing left after trimming).
 */
function surtParse(raw: string): SurtUrl | undefined {
  let text = raw;
  if (isPythonSpace(text.charCodeAt(0)) || isPythonSpace(text.charCodeAt(text.length - 1)))
    text = text.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
  if (/[\n\r\t]/.test(text)) text = text.replace(/[\n\r\t]/g, '');
  if (text === '') return undefined;
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text)) text = `http://${text}`;
  if (text.startsWith('http')) text = text.replace(/^(https?:\/\/)+/, '$1');
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon);
  let index = colon + 1;
  let hostAndPort = '';
  if (text.startsWith('//', index)) {
    const end = firstOf(text, '/?#', index + 2);
    hostAndPort = text.slice(index + 2, end);
    index = end;
  }
  const hash = text.indexOf('#', index);
  const bodyEnd = hash < 0 ? text.length : hash;
  const question = text.indexOf('?', index);
  const hasQuery = question >= 0 && question < bodyEnd;
  let path: string | null = text.slice(index, hasQuery ? question : bodyEnd) || null;
  const query = hasQuery ? text.slice(question + 1, bodyEnd) || null : null;
  if (hostAndPort.endsWith(':')) hostAndPort = hostAndPort.replace(/:+$/, '');
  const surt = surtHostAndPort(hostAndPort.slice(hostAndPort.lastIndexOf('@') + 1));
  const port = surt.port;
  let host = surt.host;
  if (port === undefined) return undefined;
  // "http:////www.vikings.com": the host is the first path segment.
  if (scheme.startsWith('http') && host === null && path !== null) {
    const stripped = path.replace(/^\/+/, '');
    const slash = stripped.indexOf('/');
    host = slash < 0 ? stripped : stripped.slice(0, slash);
    path = `/${slash < 0 ? '' : stripped.slice(slash + 1)}`;
  }
  return { scheme, host, port, path, query };
}

/** What bytes.strip() removes: space, \\t, \\n, \\v, \\f, \\r. */
function isPythonSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function firstOf(text: string, characters: string, from: number): number {
  for (let index = from; index < text.length; index++) if (characters.includes(text.charAt(index))) return index;
  return text.length;
}

/** urllib's hostname and port properties; port undefined where python raises ValueError. */
function surtHostAndPort(hostInfo: string): { host: string | null; port: number | null | undefined } {
  let host: string;
  let portText: string;
  const open = hostInfo.indexOf('[');
  if (open >= 0) {
    const bracketed = hostInfo.slice(open + 1);
    const close = bracketed.indexOf(']');
    host = close < 0 ? bracketed : bracketed.slice(0, close);
    const afterClose = close < 0 ? '' : bracketed.slice(close + 1);
    portText = afterClose.includes(':') ? afterClose.slice(afterClose.indexOf(':') + 1) : '';
  } else {
    const colon = hostInfo.indexOf(':');
    host = colon < 0 ? hostInfo : hostInfo.slice(0, colon);
    portText = colon < 0 ? '' : hostInfo.slice(colon + 1);
  }
  let port: number | null | undefined = null;
  if (portText !== '')
    port = /^\d+$/.test(portText) && Number(portText) <= 65535 ? Number(portText) || null : undefined;
  // Every later step lowers the host's ASCII letters again, so lowering it all here is the same.
  return { host: host === '' ? null : asciiLower(host), port };
}

/** GoogleURLCanonicalizer: unescape, IDNA, IP forms, dot segments, minimal escaping. */
function googleCanonicalise(url: SurtUrl): void {
  if (url.query) url.query = escapeOnce(unescapeRepeatedly(url.query));
  if (url.host) {
    let name = unescapeRepeatedly(url.host);
    if (!isAscii(name)) name = pythonIdna(name) ?? name;
    if (name.includes('.')) name = name.replaceAll('..', '.').replace(/^\.+|\.+$/g, '');
    // Google lowers the name before escaping, IA lowers the escapes after: lowering once
    // after escaping gives the same, and escaped text is ASCII.
    url.host = attemptIpFormats(name) ?? escapeOnce(name).toLowerCase();
  }
  let path = url.path === null ? null : unescapeRepeatedly(url.path);
  if (url.host) path = normalizePath(path);
  url.path = path === null ? null : escapeOnce(path);
}

/** IAURLCanonicalizer with its defaults; everything it sees is ASCII by now. */
function iaCanonicalise(url: SurtUrl): void {
  if (url.host && url.scheme !== 'dns' && url.host.startsWith('www')) url.host = url.host.replace(/^www\d*\./, '');
  const scheme = url.scheme.toLowerCase();
  if (url.port === (scheme === 'http' ? 80 : scheme === 'https' ? 443 : 0)) url.port = null;
  let path = url.path ? stripPathSessionId(url.path.toLowerCase()) : url.path;
  if (path && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  url.path = path;
  let query = url.query;
  if (query) {
    query = stripQuerySessionId(query);
    if (query) query = alphaReorderQuery(query.toLowerCase());
  }
  url.query = query === '' ? null : query;
}

function formatSurt(url: SurtUrl): string {
  let key = url.host
    ? `${url.host.split('.').reverse().join(',')}${url.port === null ? '' : `:${url.port}`})`
    : `${url.scheme}:`;
  if (url.path) key += url.path;
  else if (url.query !== null) key += '/';
  if (url.query !== null) key += `?${url.query}`;
  // ASCII throughout: scheme by its pattern, the rest escaped.
  return key;
}

/** The `idna` codec of python (IDNA 2003), on the UTF-8 bytes of a host; null where it raises. */
function pythonIdna(bytes: string): string | null {
  // Python drops undecodable bytes; a U+FFFD that was in the URL, nameprep refuses.
  if (bytes.includes('\xef\xbf\xbd')) return null;
  const text = Buffer.from(bytes, 'latin1').toString('utf8').replaceAll('\ufffd', '');
  if (text === '') return '';
  const labels = text.split(labelSeparators);
  const trailingDot = labels.length > 1 && labels[labels.length - 1] === '' ? labels.pop() !== undefined : false;
  const encoded: string[] = [];
  for (const label of labels) {
    const ascii = asciiLabel(label);
    if (ascii === null || ascii.length === 0 || ascii.length > 63) return null;
    encoded.push(ascii);
  }
  return encoded.join('.') + (trailingDot ? '.' : '');
}

/** attemptIPFormats: plain numbers (their low 32 bits), then what glibc's inet_aton reads as IPv4. */
function attemptIpFormats(host: string): string | null {
  const first = host.charCodeAt(0);
  if (!(first >= 0x30 && first <= 0x39)) return null;
  if (/^\d+$/.test(host)) return dottedQuad(lowThirtyTwoBits(host));
  if (!/^([1-9]\d*)(\.\d+)?(\.\d+)?(\.\d+)?$/.test(host) && !/^(0[0-7]*)(\.[0-7]+)?(\.[0-7]+)?(\.[0-7]+)?$/.test(host))
    return null;
  // inet_aton reads a leading zero as octal.
  const parts = host
    .split('.')
    .map((part) =>
      part.length > 1 && part.startsWith('0') ? (/^[0-7]+$/.test(part) ? parseInt(part, 8) : NaN) : Number(part),
    );
  return parts.some(Number.isNaN) ? null : ipv4FromParts(parts);
}

function lowThirtyTwoBits(digits: string): number {
  let value = 0;
  for (let index = 0; index < digits.length; index++) value = (value * 10 + digits.charCodeAt(index) - 0x30) % 2 ** 32;
  return value;
}

/** The shorthand both inet_aton and Java's InetAddress accept: `a`, `a.b`, `a.b.c`, `a.b.c.d`, the last part filling the rest. */
function ipv4FromParts(parts: readonly number[]): string | null {
  const leading = parts.slice(0, -1);
  const last = parts[parts.length - 1] ?? 0;
  if (leading.some((part) => part > 255) || last >= 2 ** (8 * (4 - leading.length))) return null;
  return dottedQuad(leading.reduce((sum, part, index) => sum + part * 2 ** (24 - 8 * index), 0) + last);
}

function dottedQuad(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Drops `.` and `..` segments and empty segments, keeping a trailing slash. */
function normalizePath(path: string | null): string {
  if (!path) return '/';
  if (path.startsWith('/') && !path.includes('//') && !path.includes('/.')) return path;
  const kept: string[] = [];
  for (const segment of path.split('/').slice(1)) {
    if (segment === '.') continue;
    if (segment === '..' && kept.length > 0) kept.pop();
    else kept.push(segment);
  }
  if (kept.length === 0) return '/';
  const last = kept.pop() as string;
  return `/${kept
    .filter((segment) => segment !== '')
    .map((segment) => `${segment}/`)
    .join('')}${last}`;
}

const pathSessionIdPatterns = [
  /^(.*\/)(\((?:[a-z]\([0-9a-z]{24}\))+\)\/)([^?]+\.aspx.*)$/is,
  /^(.*\/)(\([0-9a-z]{24}\)\/)([^?]+\.aspx.*)$/is,
];
const querySessionIdPatterns = [
  /^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$/is,
  /^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$/is,
  /^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$/is,
  /^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$/is,
  /^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$/is,
];

function stripPathSessionId(path: string): string {
  if (!path.includes('(')) return path;
  for (const pattern of pathSessionIdPatterns) {
    const match = pattern.exec(path);
    if (match !== null) path = (match[1] ?? '') + (match[3] ?? '');
  }
  return path;
}

function stripQuerySessionId(query: string): string {
  if (!/sid=|sessionid|cfid=/i.test(query)) return query;
  for (const pattern of querySessionIdPatterns) {
    const match = pattern.exec(query);
    if (match !== null) query = (match[1] ?? '') + (match[2] ?? '');
  }
  return query;
}

/**
 * Sorts `&`-separated arguments as python sorts (name, value) tuples: by name, a bare name
 * before any `name=value`, then by value. The key `name \0 [\1 value]` orders the same,
 * since escaped text holds neither control character.
 */
function alphaReorderQuery(query: string): string {
  if (query.length <= 1 || !query.includes('&')) return query;
  const keyed = query.split('&').map((argument) => {
    const equals = argument.indexOf('=');
    return {
      argument,
      key: equals < 0 ? `${argument}\0` : `${argument.slice(0, equals)}\0\x01${argument.slice(equals + 1)}`,
    };
  });
  keyed.sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
  return keyed.map(({ argument }) => argument).join('&');
}

// ---------------------------------------------------------------------------------------
// Bytes and escapes.

const nonAsciiPattern = /[^\x00-\x7f]/;

function isAscii(text: string): boolean {
  return !nonAsciiPattern.test(text);
}

/** The UTF-8 bytes of a string, one char per byte; ASCII, the common case, is itself. */
function utf8Binary(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

function asciiLower(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : text;
}

/** urllib's unquote_to_bytes until nothing changes: `%2525` becomes `%`. */
function unescapeRepeatedly(bytes: string): string {
  let current = bytes;
  // Each round shortens the text, so this ends; the bound is only a guard.
  for (let round = 0; round < bytes.length && current.includes('%'); round++) {
    const next = unescapeOnce(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

/** urllib's quote_from_bytes with surt's safe set: escapes controls, space, `#`, `%` and non-ASCII. */
function escapeOnce(bytes: string): string {
  if (!/[\x00-\x20#%\x7f-\xff]/.test(bytes)) return bytes;
  return bytes.replace(
    /[\x00-\x20#%\x7f-\xff]/g,
    (byte) => `%${byte.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** Percent-decodes as UTF-8, malformed sequences becoming U+FFFD, as Java's decoders do. */
function percentDecodeUtf8(text: string): string {
  if (!text.includes('%')) return text;
  const bytes = unescapeOnce(utf8Binary(text));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function unescapeOnce(bytes: string): string {
  return bytes.replace(/%([0-9a-fA-F]{2})/g, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
