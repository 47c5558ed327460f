/**
 * s3rver (a file-system backed S3 server, in JavaScript) started in the test process on 127.0.0.1:0, with one
 * bucket, a client for it, the environment a tapline child process needs to reach it, and a log of the requests
 * it served (to see multipart uploads happen).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer: { on(event: 'request', listener: (req: IncomingMessage) => void): void };
}

export class S3TestServer {
  readonly requests: { method: string; url: string }[] = [];
  endpoint = '';
  client!: S3Client;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tapline-s3rver-'));
  private server: S3rverInstance | undefined;

  constructor(readonly bucket = 'tapline-test') {}

  async start(): Promise<void> {
    this.server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: this.dir,
      configureBuckets: [{ name: this.bucket }],
    }) as S3rverInstance;
    const { port } = await this.server.run();
    this.server.httpServer.on('request', (req) => this.requests.push({ method: req.method ?? '', url: req.url ?? '' }));
    this.endpoint = `http://127.0.0.1:${port}`;
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** What a tapline child process needs in its environment (the standard AWS variables), with --s3-endpoint. */
  env(): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(this.dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(this.dir, 'no-credentials'),
    };
  }

  async get(key: string): Promise<Buffer> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /** Requests that took part in multipart uploads (`?uploads`, `?partNumber=…&uploadId=…`, `?uploadId=…`). */
  multipartRequests(): { method: string; url: string }[] {
    return this.requests.filter((r) => /[?&](uploads|uploadId)\b/.test(r.url));
  }
}
