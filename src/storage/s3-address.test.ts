import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refuseMistypedS3Address } from './s3-address.js';

test('a mistyped S3 address is a usage error naming the flag, unless a local path of that name exists', () => {
  const none = () => false;
  for (const address of ['S3://bkt/x.gor', 's3:/bkt/x.gor', 's3:bkt', 'S3:bkt/x']) {
    assert.throws(
      () => refuseMistypedS3Address(address, '--output-file', none),
      (e: Error & { code?: string; where?: string }) =>
        e.code === 'TAPLINE_ERR_USAGE' && e.where === '--output-file' && /written s3:\/\/bucket\/key/.test(e.message),
      address,
    );
  }
  // Real S3 addresses and ordinary paths pass; so does a local directory that happens to be called "S3:".
  for (const address of ['s3://bkt/x.gor', 'out.gor', 's3.gor', './s3:/x']) refuseMistypedS3Address(address, '-', none);
  const seen: string[] = [];
  refuseMistypedS3Address('S3:/x.gor', '--input-file', (p) => {
    seen.push(p);
    return true;
  });
  assert.deepEqual(seen, ['S3:']);
});
