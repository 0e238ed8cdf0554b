/**
 * A loopback TCP proxy in front of PostgreSQL that can drop a connection at the worst moment
 * for a client: after the server has committed a statement and before the client hears so.
 * Armed with a marker (a piece of a statement's SQL text, which the extended protocol's Parse
 * message carries verbatim), it forwards that statement, lets the server's answer through up
 * to its ReadyForQuery (sent once the implicit transaction has committed), withholds that
 * message and closes both sides: the write landed, its answer is lost. It fires once per
 * arming, and counts what it dropped.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface PostgresFaultProxy {
  /** `127.0.0.1:<port>`: put it in place of the server's host and port. */
  readonly hostPort: string;
  /** Drops the connection of the next statement whose text holds `marker`, after its COMMIT. */
  dropAfterCommit(marker: string): void;
  /** Connections dropped after a commit so far. */
  readonly dropped: number;
  stop(): Promise<void>;
}

/** Server messages are a type byte and a 32-bit length that counts itself but not the type. */
function readyForQueryOffset(buffer: Buffer): { offset: number; complete: boolean } {
  let offset = 0;
  while (offset + 5 <= buffer.length) {
    const type = buffer[offset];
    const length = buffer.readUInt32BE(offset + 1);
    if (type === 0x5a) return { offset, complete: true };
    if (offset + 1 + length > buffer.length) break;
    offset += 1 + length;
  }
  return { offset, complete: false };
}

export async function startPostgresFaultProxy(target: { host: string; port: number }): Promise<PostgresFaultProxy> {
  let armedMarker: string | null = null;
  let dropped = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let cutAfterCommit = false;
    let held = Buffer.alloc(0);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (bytes: Buffer) => {
      if (armedMarker !== null && bytes.toString('latin1').includes(armedMarker)) {
        armedMarker = null;
        cutAfterCommit = true;
      }
      upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => {
      if (!cutAfterCommit) {
        client.write(bytes);
        return;
      }
      // From the statement on, the answer is held until its ReadyForQuery, which is withheld.
      held = Buffer.concat([held, bytes]);
      const { offset, complete } = readyForQueryOffset(held);
      if (!complete) return;
      client.write(held.subarray(0, offset), () => {
        dropped += 1;
        close();
      });
    });
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    hostPort: `127.0.0.1:${port}`,
    dropAfterCommit(marker) {
      armedMarker = marker;
    },
    get dropped() {
      return dropped;
    },
    stop: () =>
      new Promise((resolveClose) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      }),
  };
}
