import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vxlan } from './testkit.js';
import { createVniFilter, parseVxlan } from './vxlan.js';

describe('vxlan', () => {
  it('reads the 24-bit VNI when the I flag is set', () => {
    const v = vxlan(Buffer.alloc(14), 0xabcdef);
    assert.equal(parseVxlan(v, 0, v.length), 0xabcdef);
    assert.equal(parseVxlan(vxlan(Buffer.alloc(14), 5, 0), 0, 22), -1);
    assert.equal(parseVxlan(v, 0, 7), -1);
  });

  it('VNI filter, gor §8.9: no list accepts all', () => {
    const pass = createVniFilter([]);
    assert.equal(pass(0) && pass(1) && pass(0xffffff), true);
  });

  it('positive entries form an allow list', () => {
    const pass = createVniFilter([10, 20]);
    assert.deepEqual([pass(10), pass(20), pass(30)], [true, true, false]);
  });

  it('negative entries deny, and with any negative entry unmatched VNIs pass (default allow)', () => {
    const pass = createVniFilter([-10]);
    assert.deepEqual([pass(10), pass(11)], [false, true]);
  });

  it('entry order decides between a positive and a negative match', () => {
    assert.equal(createVniFilter([10, -10])(10), true);
    assert.equal(createVniFilter([-10, 10])(10), false);
    const mixed = createVniFilter([5, -10]);
    assert.deepEqual([mixed(5), mixed(10), mixed(7)], [true, false, true]);
  });

  it('a 0 entry (gor turns unparsable values into 0) matches nothing', () => {
    assert.equal(createVniFilter([0])(0), false);
  });
});
