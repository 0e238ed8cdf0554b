/**
 * A hostile loopback server for redaction tests: it fails every request and echoes the
 * request's headers (the signed Authorization header among them) back in the error message,
 * as S3 XML or as a CloudWatch JSON error, so any error text built from the answer carries
 * the access key id unless it is redacted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CredentialEchoServer {
  readonly url: string;
  stop(): Promise<void>;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export async function startCredentialEchoServer(status = 403): Promise<CredentialEchoServer> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const echoed = Object.entries(request.headers)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .join('; ');
      if ((request.headers['content-type'] ?? '').includes('json')) {
        const body = JSON.stringify({ __type: 'AccessDeniedException', message: `denied, you sent ${echoed}` });
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(body);
        return;
      }
      const code = status === 403 ? 'AccessDenied' : 'InternalError';
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>denied, you sent ${escapeXml(echoed)}</Message></Error>`;
      response
        .writeHead(status, { 'content-type': 'application/xml' })
        .end(request.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
