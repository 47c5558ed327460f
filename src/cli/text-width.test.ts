import assert from 'node:assert/strict';
import { it } from 'node:test';
import { clipToWidth, displayWidth, padToWidth } from './text-width.js';

it('counts terminal columns: wide characters 2, combining marks 0, the rest 1', () => {
  assert.equal(displayWidth('/users/:id'), 10);
  assert.equal(displayWidth('/uni/é/日本'), 11); // é is one column, 日 and 本 two each
  assert.equal(displayWidth('/e\u0301'), 2); // e + combining acute
  assert.equal(displayWidth('/🐵'), 3); // one emoji, two UTF-16 units, two columns
  assert.equal(displayWidth('/한국어'), 7);
  assert.equal(displayWidth('ｆｕｌｌ'), 8);
});

it('clips to columns without splitting a character, and pads to columns', () => {
  const route = `/${'日本'.repeat(40)}`;
  const clipped = clipToWidth(route, 60);
  assert.ok(displayWidth(clipped) <= 60, clipped);
  assert.ok(clipped.endsWith('...'));
  assert.equal(clipToWidth('/short', 60), '/short');
  const emoji = clipToWidth(`/${'🐵'.repeat(40)}`, 60);
  assert.ok(!/[\uD800-\uDFFF]/u.test(emoji.replace(/🐵/gu, '')), 'no lone surrogate');
  assert.equal(padToWidth('日本', 6, 'end'), '日本  ');
  assert.equal(padToWidth('日本', 6, 'start'), '  日本');
});
