import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaplineError } from '../core/errors.js';
import { parseTarget } from './http-target.js';

test('a target port nothing can listen on (0, over 65535) is refused at start, naming the flag and the port', () => {
  for (const [address, port] of [
    ['http://127.0.0.1:0', '0'],
    ['http://staging:70000/path', '70000'],
    ['https://[::1]:0', '0'],
    ['staging:00', '00'],
  ] as const) {
    assert.throws(
      () => parseTarget(address),
      (err: unknown) =>
        err instanceof TaplineError &&
        err.code === 'TAPLINE_ERR_BAD_ADDRESS' &&
        err.message.includes(`port ${port} is not one a target can listen on (1-65535)`) &&
        err.where === '--output-http',
      address,
    );
  }
});

test('ports that can be listened on are taken as written', () => {
  assert.equal(parseTarget('http://127.0.0.1:1').port, 1);
  assert.equal(parseTarget('http://user:pw@staging:65535/x').port, 65535);
  assert.equal(parseTarget('https://[::1]:8443').port, 8443);
  assert.equal(parseTarget('staging').port, 80);
});
