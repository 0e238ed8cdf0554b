// Runs s3rver on 127.0.0.1 on a free port, in a child process started with
// `node --openssl-legacy-provider` (without it, listings with a continuation token fail with
// a 500). Arguments: data folder, then bucket names. Prints `port=<n>` once listening.
//
// s3rver 3.7 answers NotImplemented to ListMultipartUploads and MethodNotAllowed to
// AbortMultipartUpload, and an internal error (500) where S3 answers NoSuchUpload (404) to
// completing an upload that is gone. All three are set right here, in front of its router, over s3rver's own
// upload folders (`<bucket>/._S3rver_uploads/<uploadId>/key`), so the sink's abort and the
// cleanup command run against the same store that holds the parts.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

function xmlEscape(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function uploadsOf(store, bucket) {
  const folder = store.getResourcePath(bucket, undefined, 'uploads');
  const ids = await readdir(folder).catch(() => []);
  const uploads = [];
  for (const uploadId of ids) {
    const key = await readFile(join(folder, uploadId, 'key'), 'utf8').catch(() => null);
    if (key === null) continue;
    // An upload completed or aborted while being listed is gone: skip it, as S3 would.
    const initiated = (await stat(join(folder, uploadId)).catch(() => null))?.mtime;
    if (initiated === undefined) continue;
    uploads.push({ key, uploadId, initiated, folder: join(folder, uploadId) });
  }
  return uploads.sort((left, right) =>
    left.key === right.key ? (left.uploadId < right.uploadId ? -1 : 1) : left.key < right.key ? -1 : 1,
  );
}

function listUploadsXml(bucket, query, uploads) {
  const prefix = query.prefix ?? '';
  const keyMarker = query['key-marker'] ?? '';
  const uploadIdMarker = query['upload-id-marker'] ?? '';
  const uploadsMax = Number(query['max-uploads'] ?? 1000);
  const after = (upload) =>
    keyMarker === '' ||
    upload.key > keyMarker ||
    (upload.key === keyMarker && uploadIdMarker !== '' && upload.uploadId > uploadIdMarker);
  const matching = uploads.filter((upload) => upload.key.startsWith(prefix) && after(upload));
  const page = matching.slice(0, uploadsMax);
  const truncated = matching.length > uploadsMax;
  const last = page.at(-1);
  const entries = page
    .map(
      (upload) =>
        `<Upload><Key>${xmlEscape(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId><Initiated>${upload.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    )
    .join('');
  const markers =
    truncated && last
      ? `<NextKeyMarker>${xmlEscape(last.key)}</NextKeyMarker><NextUploadIdMarker>${last.uploadId}</NextUploadIdMarker>`
      : '';
  return `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${bucket}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>${uploadsMax}</MaxUploads><IsTruncated>${truncated}</IsTruncated>${markers}${entries}</ListMultipartUploadsResult>`;
}

const noSuchUploadXml =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';

/** The additions skip s3rver's own authentication, so they check the key id as it does. */
function knownKey(ctx) {
  const authorization = ctx.get('authorization');
  return authorization === '' || authorization.includes('Credential=S3RVER/');
}

function multipartAdditions(store) {
  return async (ctx, next) => {
    const isAddition =
      ('uploads' in ctx.query && ctx.method === 'GET') ||
      (ctx.method === 'DELETE' && typeof ctx.query.uploadId === 'string');
    if (isAddition && !knownKey(ctx)) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>';
      return;
    }
    const [, bucket, ...keyParts] = ctx.path.split('/').filter((part, index) => index < 2 || part !== '');
    if (ctx.method === 'GET' && keyParts.length === 0 && 'uploads' in ctx.query) {
      ctx.type = 'application/xml';
      ctx.body = listUploadsXml(bucket, ctx.query, await uploadsOf(store, bucket));
      return;
    }
    const namesUpload = keyParts.length > 0 && typeof ctx.query.uploadId === 'string';
    if (ctx.method === 'POST' && namesUpload) {
      const known = (await uploadsOf(store, bucket)).some((candidate) => candidate.uploadId === ctx.query.uploadId);
      if (!known) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = noSuchUploadXml;
        return;
      }
    }
    if (ctx.method === 'DELETE' && namesUpload) {
      const upload = (await uploadsOf(store, bucket)).find((candidate) => candidate.uploadId === ctx.query.uploadId);
      if (upload === undefined) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = noSuchUploadXml;
        return;
      }
      await rm(upload.folder, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  };
}

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  resetOnClose: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
// Koa composes its middleware when the server starts listening: put ours first.
server.middleware.unshift(multipartAdditions(server.store));
const { port } = await server.run();
process.stdout.write(`port=${port}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent closing our stdin means it is gone: do not outlive it.
process.stdin.on('end', stop);
process.stdin.resume();
