/** `s3://bucket/key-or-prefix`, split. */
import { at } from '../../core/checked-access.ts';
import { FailureError, inputFault } from '../../core/failure.ts';

export interface S3Location {
  readonly bucket: string;
  /** The key or prefix, without a leading slash; may be empty. */
  readonly key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new FailureError(inputFault(`not an s3://bucket/key address: ${uri}`));
  return { bucket: at(match, 1), key: at(match, 2) };
}

export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}
