/**
 * One keep-alive connection to a replay target: sends a captured request's bytes as they are and reads
 * exactly one response (framing by the HTTP/1 splitter, so keep-alive works with Content-Length, chunked
 * and close-delimited responses alike). One request in flight at a time, as gor does (no pipelining).
 *
 *   idle ──send()──▶ connecting ──▶ waiting for response ──complete──▶ idle
 *                         │                  │ timeout / reset / garbage
 *                         └──────────────────┴──▶ destroyed (the next send() reconnects)
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ResponseSplitter } from '../protocol/http1/index.js';
import type { HttpTarget } from './http-target.js';

export type FailureReason = 'connect-refused' | 'connect-failed' | 'reset' | 'timeout' | 'bad-response' | 'closed';

export interface ReplayResult {
  ok: boolean;
  status?: number;
  reason?: FailureReason;
  detail?: string;
  /** Send start → last response byte, ms. */
  latencyMs: number;
  responseBytes: number;
}

export class ReplayConnection {
  private socket: Socket | undefined;
  private splitter = new ResponseSplitter();
  private current:
    | { resolve: (r: ReplayResult) => void; started: number; timer: NodeJS.Timeout; bytes: number; gotBytes: boolean }
    | undefined;

  constructor(
    private readonly target: HttpTarget,
    private readonly timeoutMs: number,
    private readonly skipVerify = false,
  ) {}

  /** Sends one request and resolves with its outcome (never rejects). Retries once on a stale keep-alive socket. */
  async send(request: Buffer, method: string): Promise<ReplayResult> {
    const reused = this.socket !== undefined && !this.socket.destroyed;
    const first = await this.attempt(request, method);
    if (!first.ok && reused && (first.reason === 'reset' || first.reason === 'closed') && first.responseBytes === 0) {
      return this.attempt(request, method);
    }
    return first;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private attempt(request: Buffer, method: string): Promise<ReplayResult> {
    return new Promise((resolve) => {
      const started = performance.now();
      const timer = setTimeout(
        () =>
          this.finish({ ok: false, reason: 'timeout', detail: `no complete response in ${this.timeoutMs}ms` }, true),
        this.timeoutMs,
      );
      this.current = { resolve, started, timer, bytes: 0, gotBytes: false };
      const socket = this.ensureSocket();
      this.splitter.expect(method);
      socket.write(request);
    });
  }

  private ensureSocket(): Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.splitter = new ResponseSplitter();
    const { host, port, secure } = this.target;
    const socket = secure
      ? tlsConnect({ host, port, servername: isIp(host) ? undefined : host, rejectUnauthorized: !this.skipVerify })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(socket, err));
    socket.on('close', () => this.onClose(socket));
    this.socket = socket;
    return socket;
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket || !this.current) return;
    this.current.bytes += chunk.length;
    this.current.gotBytes = true;
    for (const msg of this.splitter.push(chunk)) {
      if (msg.interim) continue;
      if (msg.incomplete) {
        this.finish({ ok: false, reason: 'bad-response', detail: `response ${msg.incomplete}` }, true);
        return;
      }
      this.finish({ ok: true, status: msg.status }, false);
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
    const reason: FailureReason =
      err.code === 'ECONNREFUSED'
        ? 'connect-refused'
        : err.code === 'ECONNRESET' || err.code === 'EPIPE'
          ? 'reset'
          : 'connect-failed';
    this.finish({ ok: false, reason, detail: `${err.code ?? ''} ${err.message}`.trim() }, true);
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    // A close-delimited response ends here.
    for (const msg of this.splitter.end()) {
      if (!msg.interim && !msg.incomplete) {
        this.finish({ ok: true, status: msg.status }, true);
        return;
      }
    }
    this.finish(
      { ok: false, reason: 'closed', detail: 'the target closed the connection before a complete response' },
      true,
    );
  }

  private finish(result: Omit<ReplayResult, 'latencyMs' | 'responseBytes'>, destroy: boolean): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    clearTimeout(current.timer);
    if (destroy) this.close();
    current.resolve({ ...result, latencyMs: performance.now() - current.started, responseBytes: current.bytes });
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
