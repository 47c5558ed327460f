import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeError, ERROR_CODES, TaplineError } from './errors.js';

it('describeError: a TaplineError with its place and code, an Error with its errno code, anything else in words', () => {
  assert.equal(
    describeError(new TaplineError(ERROR_CODES.USAGE, 'bad', { where: '--x' })),
    '--x: bad (TAPLINE_ERR_USAGE)',
  );
  assert.equal(describeError(Object.assign(new Error('gone'), { code: 'ENOENT' })), 'gone (ENOENT)');
  // A rejected plain object (`Promise.reject({ code: 5 })`) read '[object Object]'.
  assert.equal(describeError({ code: 5, why: 'x' }), "{ code: 5, why: 'x' }");
  assert.equal(describeError('text'), 'text');
  assert.equal(describeError(undefined), 'undefined');
});
