import type { UrlColumns } from '../../adapters/warc/url-columns.ts';

/**
 * The URL columns of the "complete row" of CommonCrawl's whirlwind tour (CC-MAIN-2024-22),
 * https://an.wikipedia.org/wiki/Escopete, read back from the columnar index: what urlColumns
 * must produce, and a real row's URL part for tests that need one.
 */
export const escopeteUrlColumns: UrlColumns = {
  url_surtkey: 'org,wikipedia,an)/wiki/escopete',
  url_host_name: 'an.wikipedia.org',
  url_host_tld: 'org',
  url_host_2nd_last_part: 'wikipedia',
  url_host_3rd_last_part: 'an',
  url_host_4th_last_part: null,
  url_host_5th_last_part: null,
  url_host_registry_suffix: 'org',
  url_host_registered_domain: 'wikipedia.org',
  url_host_private_suffix: 'org',
  url_host_private_domain: 'wikipedia.org',
  url_host_name_reversed: 'org.wikipedia.an',
  url_protocol: 'https',
  url_port: null,
  url_path: '/wiki/Escopete',
  url_query: null,
};
