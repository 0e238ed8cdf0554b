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

export function urlColumns(url: string): UrlColumns {
  throw new Error(`urlColumns is being written (asked for ${url})`);
}
