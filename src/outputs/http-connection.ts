/**
 * One keep-alive connection to a replay target: sends a captured request's bytes as they are and reads
 * exactly one response (framing by the HTTP/1 splitter, so keep-alive works with Content-Length, chunked
 * and close-delimited responses alike). One request in flight at a time, as gor does (no pipelining).
 *
 *   idle ──send()──▶ connecting ──▶ waiting for response ──complete──▶ idle
 *                         │                  │ timeout / reset / garbage
 *                         └──────────────────┴──▶ destroyed (the next send() reconnects)
 *
 * While a response arrives, its first `keepBytes` bytes are kept (track-response, redirects); the rest is
 * only counted, so a huge response costs no memory.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { nowNs } from '../core/message.js';
import { ResponseSplitter } from '../protocol/http1/index.js';
import type { HttpTarget } from './http-target.js';

export type FailureReason =
  | 'connect-refused'
  | 'connect-failed'
  | 'dns'
  | 'tls'
  | 'reset'
  | 'timeout'
  | 'bad-response'
  | 'closed';

export interface ReplayResult {
  ok: boolean;
  status?: number;
  reason?: FailureReason;
  detail?: string;
  /** Send start → last response byte, ms. */
  latencyMs: number;
  /** Wall clock at send start, ns (the type-3 meta timestamp). */
  startedNs: bigint;
  /** Response bytes received (all of them, kept or not). */
  responseBytes: number;
  /** The response's first `keepBytes` bytes (set when keepBytes > 0 and the exchange succeeded). */
  response?: Buffer;
  /** The response was longer than what was kept. */
  truncated?: boolean;
}

interface Exchange {
  resolve: (r: ReplayResult) => void;
  started: number;
  startedNs: bigint;
  timer: NodeJS.Timeout;
  bytes: number;
  /** Splitter position when the request was written: the response starts at or after it. */
  from: number;
  kept: Buffer[];
  keptBytes: number;
}

export interface ConnectionOptions {
  timeoutMs: number;
  skipVerify?: boolean;
  /** Bytes of each response to keep (0: keep none). */
  keepBytes?: number;
}

export class ReplayConnection {
  private socket: Socket | undefined;
  private splitter = new ResponseSplitter();
  private current: Exchange | undefined;
  /** performance.now() when the last exchange ended (for idle retirement). */
  lastUsed = performance.now();

  constructor(
    readonly target: HttpTarget,
    private readonly options: ConnectionOptions,
  ) {}

  /** Sends one request and resolves with its outcome (never rejects). Retries once on a stale keep-alive socket. */
  async send(request: Buffer, method: string): Promise<ReplayResult> {
    const reused = this.socket !== undefined && !this.socket.destroyed;
    const first = await this.attempt(request, method);
    if (!first.ok && reused && (first.reason === 'reset' || first.reason === 'closed') && first.responseBytes === 0) {
      // The server closed an idle keep-alive connection as we wrote (Go's transport retries this case too).
      return this.attempt(request, method);
    }
    return first;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  private attempt(request: Buffer, method: string): Promise<ReplayResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          this.finish(
            { ok: false, reason: 'timeout', detail: `no complete response in ${this.options.timeoutMs}ms` },
            true,
          ),
        this.options.timeoutMs,
      );
      const socket = this.ensureSocket();
      this.current = {
        resolve,
        started: performance.now(),
        startedNs: nowNs(),
        timer,
        bytes: 0,
        from: this.splitter.position,
        kept: [],
        keptBytes: 0,
      };
      this.splitter.expect(method);
      socket.write(request);
    });
  }

  private ensureSocket(): Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.splitter = new ResponseSplitter();
    const { host, port, secure } = this.target;
    const socket = secure
      ? tlsConnect({
          host,
          port,
          servername: isIp(host) ? undefined : host,
          rejectUnauthorized: !this.options.skipVerify,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(socket, err));
    socket.on('close', () => this.onClose(socket));
    this.socket = socket;
    return socket;
  }

  private onData(socket: Socket, chunk: Buffer): void {
    const current = this.current;
    if (socket !== this.socket || !current) return;
    current.bytes += chunk.length;
    const keep = this.options.keepBytes ?? 0;
    if (current.keptBytes < keep) {
      const part = chunk.length <= keep - current.keptBytes ? chunk : chunk.subarray(0, keep - current.keptBytes);
      current.kept.push(part);
      current.keptBytes += part.length;
    }
    const messages = this.splitter.push(chunk);
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      if (msg.interim) continue;
      if (msg.incomplete) {
        this.finish({ ok: false, reason: 'bad-response', detail: `response ${msg.incomplete}` }, true);
        return;
      }
      this.finish({ ok: true, status: msg.status }, false, msg.start, msg.end);
      return;
    }
    if (this.splitter.stats.garbageBytes > 0 && !this.splitter.inMessage) {
      this.finish(
        { ok: false, reason: 'bad-response', detail: 'the target answered with bytes that are not HTTP' },
        true,
      );
    }
  }

  private onError(socket: Socket, err: NodeJS.ErrnoException): void {
    if (socket !== this.socket) return;
    this.finish({ ok: false, reason: reasonOf(err), detail: `${err.code ?? ''} ${err.message}`.trim() }, true);
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    // A close-delimited response ends here.
    for (const msg of this.splitter.end()) {
      if (!msg.interim && !msg.incomplete) {
        this.finish({ ok: true, status: msg.status }, true, msg.start, msg.end);
        return;
      }
    }
    this.finish(
      { ok: false, reason: 'closed', detail: 'the target closed the connection before a complete response' },
      true,
    );
  }

  private finish(
    result: Pick<ReplayResult, 'ok' | 'status' | 'reason' | 'detail'>,
    destroy: boolean,
    msgStart = 0,
    msgEnd = 0,
  ): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    clearTimeout(current.timer);
    if (destroy) this.close();
    const now = performance.now();
    this.lastUsed = now;
    const out: ReplayResult = {
      ...result,
      latencyMs: now - current.started,
      startedNs: current.startedNs,
      responseBytes: current.bytes,
    };
    if (result.ok && current.keptBytes > 0) {
      const all = current.kept.length === 1 ? current.kept[0]! : Buffer.concat(current.kept, current.keptBytes);
      const start = Math.max(0, msgStart - current.from);
      const end = Math.min(all.length, msgEnd - current.from);
      out.response = all.subarray(start, Math.max(start, end));
      out.truncated = msgEnd - msgStart > out.response.length;
    }
    current.resolve(out);
  }
}

function reasonOf(err: NodeJS.ErrnoException): FailureReason {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connect-refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return 'dns';
    default:
      if (err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') || err.code?.startsWith('ERR_SSL'))
        return 'tls';
      if (/certificate|SSL|TLS/i.test(err.message)) return 'tls';
      return 'connect-failed';
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
