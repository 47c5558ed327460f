/**
 * S3 through the CLI, as a user runs it: credentials and region from the standard AWS environment variables,
 * `--s3-endpoint` for the S3-compatible store (s3rver, started in this process on port 0). A recording copied
 * to S3 in chunks, read back from S3 in order, and the usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { describeS3Error, listObjects } from '../../src/storage/s3.js';
import { runTapline } from '../support/cli.js';
import { S3TestServer } from '../support/s3-server.js';

const s3 = new S3TestServer();
const dir = mkdtempSync(join(tmpdir(), 'tapline-s3-cli-'));
const file = join(dir, 'requests.gor');
let recording = Buffer.alloc(0);

before(async () => {
  await s3.start();
  Object.assign(process.env, s3.env()); // inherited by the tapline child processes
  let text = '';
  for (let i = 0; i < 40; i++) {
    text += `1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n} 0\n`;
    text += `GET /r/${i} HTTP/1.1\r\nHost: prod\r\n\r\n\n🐵🙈🙉\n`;
  }
  writeFileSync(file, text);
  recording = readFileSync(file);
});

after(async () => {
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('--output-file s3://…: a recording copied to S3 in chunks of --output-file-queue-limit records', async () => {
  const res = await runTapline([
    '-input-file',
    `${file}|max`,
    '-output-file',
    `s3://${s3.bucket}/cli/copy.gor`,
    '-output-file-queue-limit',
    '16',
    '-s3-endpoint',
    s3.endpoint,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const keys = (await listObjects(s3.client, s3.bucket, 'cli/')).map((o) => o.key);
  assert.deepEqual(keys, ['cli/copy_0.gor', 'cli/copy_1.gor', 'cli/copy_2.gor']);
  const joined = Buffer.concat(await Promise.all(keys.map((k) => s3.get(k))));
  assert.ok(joined.equals(recording), 'the chunks put together are the recording, byte for byte');
  assert.match(
    res.stderr,
    /output-file\(s3:\/\/tapline-test\/cli\/copy\.gor\): 40 written; messages 40, .*chunks 3, uploaded 3/,
  );
});

test('a run stopped before its inputs end (--exit-after) still uploads the chunk it was writing', async () => {
  const res = await runTapline([
    '--input-dummy',
    '0',
    '--output-file',
    `s3://${s3.bucket}/stop/dummy.gor`,
    '--exit-after',
    '1500ms',
    '--s3-endpoint',
    s3.endpoint,
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(
    (await listObjects(s3.client, s3.bucket, 'stop/')).map((o) => o.key),
    ['stop/dummy_0.gor'],
  );
  const body = (await s3.get('stop/dummy_0.gor')).toString('utf8');
  assert.match(body, /^1 [0-9a-f]{24} \d+/);
  assert.match(body, /\n🐵🙈🙉\n$/u);
});

test('--input-file s3://…*: listed, downloaded, merged by time with original pacing ignored at |max', async () => {
  const res = await runTapline([
    '--input-file',
    `s3://${s3.bucket}/cli/copy_*.gor|max`,
    '--output-stdout',
    '--s3-endpoint',
    s3.endpoint,
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(res.stdout.equals(recording), 'stdout is the recording');
  assert.match(res.stderr, /objects 3/);
});

test("--input-file-dry-run over S3 objects: gor's report for the objects, nothing replayed", async () => {
  const res = await runTapline([
    '--input-file',
    `s3://${s3.bucket}/cli/copy_`,
    '--input-file-dry-run',
    '--output-stdout',
    '--s3-endpoint',
    s3.endpoint,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const out = res.stdout.toString();
  assert.match(out, /^Records found: 40\nFiles processed: 3\n/);
  assert.match(out, /It will take `39ms` to replay at current speed\./);
});

test('--input-file-loop over S3 objects replays the objects listed at the start again and again', async () => {
  const res = await runTapline([
    '--input-file',
    `s3://${s3.bucket}/cli/copy_*.gor|max`,
    '--input-file-loop',
    '--output-null',
    '--exit-after',
    '2s',
    '--s3-endpoint',
    s3.endpoint,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const passes = Number(/passes (\d+)/.exec(res.stderr)?.[1]);
  assert.ok(passes >= 2, res.stderr);
  // The last pass is cut short by --exit-after: every earlier one read the 40 records.
  const records = Number(/records (\d+)/.exec(res.stderr)?.[1]);
  assert.ok(records >= (passes - 1) * 40 && records <= passes * 40, res.stderr);
});

test('usage errors exit 2 naming the flag: bad bucket, a key ending in /, append, bad endpoint, nothing matching', async () => {
  for (const [args, pattern, code] of [
    [['--input-file', file, '--output-file', 's3://A_B/x.gor'], /not a bucket name/, 2],
    [['--input-file', file, '--output-file', `s3://${s3.bucket}`], /no key after the bucket/, 2],
    [
      ['--input-file', file, '--output-file', `s3://${s3.bucket}/dir/`, '--s3-endpoint', s3.endpoint],
      /--output-file: "s3:\/\/tapline-test\/dir\/" names a "directory" \(the key ends in \/\), not an object: add a name, e\.g\. s3:\/\/tapline-test\/dir\/requests\.gor/,
      2,
    ],
    [
      ['--input-file', file, '--output-file', `s3://${s3.bucket}/x.gor`, '--output-file-append'],
      /cannot be appended/,
      2,
    ],
    [
      ['--input-file', file, '--output-file', `s3://${s3.bucket}/x.gor`, '--s3-endpoint', 'localhost:9000'],
      /--s3-endpoint: expected http/,
      2,
    ],
    [
      ['--input-file', `s3://${s3.bucket}/nothing-here*`, '--output-null', '--s3-endpoint', s3.endpoint],
      /no object matches s3:\/\/tapline-test\/nothing-here\*/,
      1,
    ],
  ] as const) {
    const res = await runTapline([...args]);
    assert.equal(res.code, code, `${args.join(' ')}\n${res.stderr}`);
    assert.match(res.stderr, pattern);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  }
});

/** The recording copied to s3://bucket/`key` by a tapline child process, in one chunk. */
async function copyRecordingTo(key: string): Promise<void> {
  const copy = await runTapline([
    '--input-file',
    `${file}|max`,
    '--output-file',
    `s3://${s3.bucket}/${key}`,
    '--output-file-queue-limit',
    '0',
  ]);
  assert.equal(copy.code, 0, copy.stderr);
}

test('AWS_ENDPOINT_URL=http://localhost:PORT is addressed path-style, as --s3-endpoint (it was bkt.localhost: ENOTFOUND)', async () => {
  const endpoint = s3.endpoint.replace('127.0.0.1', 'localhost'); // a host name: the SDK takes an IP path-style itself
  process.env.AWS_ENDPOINT_URL = endpoint; // inherited by the child process
  try {
    await copyRecordingTo('env/copy.gor');
    const back = await runTapline(['--input-file', `s3://${s3.bucket}/env/|max`, '--output-stdout']);
    assert.equal(back.code, 0, back.stderr);
    assert.ok(back.stdout.equals(recording), 'read back from the store the environment names');
    process.env.AWS_ENDPOINT_URL = 'localhost:9000';
    const bad = await runTapline(['--input-file', `s3://${s3.bucket}/env/`, '--output-null']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /AWS_ENDPOINT_URL: expected http\(s\):\/\/host\[:port\], got "localhost:9000"/);
  } finally {
    delete process.env.AWS_ENDPOINT_URL;
  }
});

test('an endpoint_url in ~/.aws/config (the profile, or its services section) is used, path-style (it was bkt.localhost: ENOTFOUND)', async () => {
  const endpoint = s3.endpoint.replace('127.0.0.1', 'localhost'); // a host name: the SDK takes an IP path-style itself
  const saved = process.env.AWS_CONFIG_FILE;
  const config = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    process.env.AWS_CONFIG_FILE = join(dir, name); // inherited by the child process
  };
  try {
    config('profile', `[default]\nendpoint_url = ${endpoint}\n`);
    await copyRecordingTo('config/copy.gor');
    // The services section's s3 endpoint comes before the profile's own (a port nothing listens on).
    config(
      'services',
      '[default]\nendpoint_url = http://localhost:9\nservices = local\n\n' +
        `[services local]\ns3 =\n  endpoint_url = ${endpoint}\n`,
    );
    const back = await runTapline(['--input-file', `s3://${s3.bucket}/config/|max`, '--output-stdout']);
    assert.equal(back.code, 0, back.stderr);
    assert.ok(back.stdout.equals(recording), 'read back from the store the config file names');
    config('bad', '[default]\nendpoint_url = localhost:9000\n');
    const bad = await runTapline(['--input-file', `s3://${s3.bucket}/config/`, '--output-null']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /endpoint_url in .*bad \(profile default\): expected http\(s\):\/\/host\[:port\], got "localhost:9000"/,
    );
    // A services line whose section is missing (a typo): the AWS CLI refuses it; the SDK went to AWS in silence.
    config(
      'dangling',
      `[default]\nregion = us-east-1\nservices = my-minio\n\n[services my-mini0]\ns3 =\n  endpoint_url = ${endpoint}\n`,
    );
    const dangling = await runTapline(['--input-file', `s3://${s3.bucket}/config/`, '--output-null']);
    assert.equal(dangling.code, 2, dangling.stderr);
    assert.match(
      dangling.stderr,
      /dangling:3: services = my-minio \(profile default\) names a \[services my-minio\] section the file does not have: the AWS CLI refuses/,
    );
    // AWS_ENDPOINT_URL comes before the file, as in the SDKs (here: nothing listens there).
    config('profile', `[default]\nendpoint_url = ${endpoint}\n`);
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    const env = await runTapline(['--input-file', `s3://${s3.bucket}/config/`, '--output-null']);
    assert.equal(env.code, 1, env.stderr);
    assert.match(env.stderr, /ECONNREFUSED 127\.0\.0\.1:9\b/);
  } finally {
    delete process.env.AWS_ENDPOINT_URL;
    process.env.AWS_CONFIG_FILE = saved;
  }
});

test('a bucket addressed as a host name that does not exist (bkt.localhost) says how to address the store path-style', async () => {
  // An endpoint the SDK addresses virtual-host style (a client made without forcePathStyle).
  const client = new S3Client({
    endpoint: s3.endpoint.replace('127.0.0.1', 'localhost'),
    region: 'us-east-1',
    maxAttempts: 1,
  });
  try {
    await assert.rejects(listObjects(client, s3.bucket, ''), (err: unknown) => {
      assert.match(
        describeS3Error(err, s3.bucket),
        /ENOTFOUND tapline-test\.localhost.*virtual-host style.*--s3-endpoint, AWS_ENDPOINT_URL or endpoint_url in ~\/\.aws\/config, which tapline addresses path-style/,
      );
      return true;
    });
  } finally {
    client.destroy();
  }
});
