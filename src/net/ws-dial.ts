/**
 * Opening a `ws://` / `wss://` connection for `--output-ws` (spec §9.1): an HTTP/1.1 Upgrade with
 * `Authorization: Basic base64(userinfo)` — sent even when the URL has no userinfo, as gor does — and the
 * userinfo removed from the URL. The Conduit it returns carries frames made by `messageFrame` (one binary frame
 * per message), answers the server's pings, and ends the connection on the server's close frame.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { redactUrl } from '../core/redact.js';
import { type Conduit, socketConduit } from './conduit.js';
import { encodeFrame, FrameDecoder, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG } from './ws-frames.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WsTarget {
  /** The URL without userinfo. */
  readonly url: URL;
  /** Text before `@` in the original URL ('' when none). */
  readonly userinfo: string;
  /**
   * The authority ends with ':' and no port (`ws://relay:`, what `ws://relay:$PORT` gives with the variable
   * unset): the scheme's default port is dialed, as Go's URL and gor's dialer do; the output says so at start.
   */
  readonly emptyPort: boolean;
}

/** Splits userinfo off a ws URL the way gor does (the raw text before `@`, not URL-decoded). */
export function parseWsUrl(text: string): WsTarget {
  const url = new URL(text);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`scheme must be ws:// or wss://`);
  if (url.hostname === '') throw new Error('no host');
  const afterScheme = text.slice(text.indexOf('//') + 2);
  const authority = afterScheme.split('/')[0] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  url.username = '';
  url.password = '';
  return { url, userinfo, emptyPort: authority.endsWith(':') };
}

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function dialWebSocket(target: WsTarget, options: { skipVerify: boolean; timeoutMs: number }): Promise<Conduit> {
  const key = randomBytes(16).toString('base64');
  const secure = target.url.protocol === 'wss:';
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.url.hostname.replace(/^\[|\]$/g, ''),
      port: target.url.port || (secure ? 443 : 80),
      path: `${target.url.pathname}${target.url.search}`,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        Authorization: `Basic ${Buffer.from(target.userinfo).toString('base64')}`,
      },
      ...(secure ? { rejectUnauthorized: !options.skipVerify } : {}),
      timeout: options.timeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no WebSocket handshake after ${options.timeoutMs}ms`)));
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      reject(new Error(refusedUpgrade(res, target)));
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.headers['sec-websocket-accept'] !== acceptKey(key)) {
        socket.destroy();
        reject(new Error('the server answered the upgrade with a wrong Sec-WebSocket-Accept'));
        return;
      }
      socket.setNoDelay(true);
      resolve(frameConduit(socket, head));
    });
    req.end();
  });
}

/**
 * A server's answer other than 101 as a person can act on it: the status, and what it usually means for this
 * URL (credentials from the userinfo, a redirect tapline does not follow, a path that is not a WebSocket one).
 */
export function refusedUpgrade(res: IncomingMessage, target: WsTarget): string {
  const status = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  const code = res.statusCode ?? 0;
  let hint = '';
  if (code === 401 || code === 403) {
    hint =
      target.userinfo === ''
        ? ': the URL has no user:password@ for the Basic authorization'
        : ': check the user:password@ in the URL (sent as Basic authorization)';
  } else if (code >= 300 && code < 400) {
    const location = res.headers.location;
    hint = location
      ? `: a redirect to ${redactUrl(location)}, which --output-ws does not follow: give that URL instead`
      : ': a redirect without a Location, which --output-ws does not follow';
  } else if (code >= 200 && code < 300) {
    hint = ': an ordinary HTTP answer, not a WebSocket one (is the path right?)';
  } else if (code === 404) {
    hint = ': is the path right?';
  }
  return `the server refused the WebSocket upgrade: ${status}${hint}`;
}

/** One message as one masked binary frame: `meta LF payload`, no separator (gor). */
export function messageFrame(metaLine: string, data: Buffer): Buffer {
  return encodeFrame(OP_BINARY, Buffer.concat([Buffer.from(`${metaLine}\n`, 'latin1'), data]), true);
}

function frameConduit(socket: Socket, head: Buffer): Conduit {
  const inner = socketConduit(socket);
  const decoder = new FrameDecoder({ controlOnly: true });
  /** Set when the server's close frame came: nothing more may be sent on this connection (RFC 6455 §5.5.1). */
  let serverClosed: string | undefined;
  let endByServer: (reason: string) => void = () => undefined;
  const byServer = new Promise<string>((resolve) => {
    endByServer = resolve;
  });
  const onData = (chunk: Buffer) => {
    let frames: ReturnType<FrameDecoder['push']>;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    for (const f of frames) {
      if (f.opcode === OP_PING && serverClosed === undefined) socket.write(encodeFrame(OP_PONG, f.payload, true));
      else if (f.opcode === OP_CLOSE && serverClosed === undefined) {
        // Frames written after this would be discarded by the server: the link must stop now and send the
        // rest on a new connection, not when the TCP connection finally closes (if the server ever closes it).
        serverClosed = `the server closed the WebSocket (${describeClose(f.payload)})`;
        socket.end(encodeFrame(OP_CLOSE, f.payload.subarray(0, 2), true));
        setTimeout(() => socket.destroy(), 5000).unref();
        endByServer(serverClosed);
      }
    }
  };
  socket.on('data', onData);
  if (head.length > 0) onData(head);
  return {
    ...inner,
    get pending() {
      return inner.pending;
    },
    get open() {
      return serverClosed === undefined && inner.open;
    },
    get abandoned() {
      return inner.abandoned;
    },
    closed: Promise.race([inner.closed, byServer]),
    async end(graceMs) {
      if (serverClosed === undefined && !socket.destroyed && socket.writable) {
        socket.write(encodeFrame(OP_CLOSE, Buffer.alloc(0), true));
      }
      await inner.end(graceMs);
    },
  };
}

/** A close frame's status code and reason, as a person reads them: `code 1008: policy bad`. */
export function describeClose(payload: Buffer): string {
  if (payload.length < 2) return 'no status code';
  const reason = payload.subarray(2).toString('utf8');
  return `code ${payload.readUInt16BE(0)}${reason ? `: ${reason}` : ''}`;
}
