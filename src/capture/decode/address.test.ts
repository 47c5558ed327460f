import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressText, ipv4ToString, ipv6ToString } from './address.js';
import { ip4, ip6 } from './testkit.js';

describe('address text (Go net.IP.String)', () => {
  it('IPv4', () => {
    assert.equal(ipv4ToString(ip4('255.0.10.1')), '255.0.10.1');
    assert.equal(ipv4ToString(0), '0.0.0.0');
  });

  it('IPv6: lower-case, no leading zeros, longest zero run, first of equals, never one group', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
      ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
      ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
      ['2001:0db8:0001:0001:0001:0001:0000:0001', '2001:db8:1:1:1:1:0:1'],
      ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
      ['2001:0DB8:ABCD:0012:0000:0000:0000:0000', '2001:db8:abcd:12::'],
      ['0000:0000:0000:0000:0000:ffff:c000:0201', '192.0.2.1'],
      ['0000:0000:0000:0000:0000:0000:c000:0201', '::c000:201'],
    ];
    for (const [full, want] of cases) {
      const bytes = Buffer.from(full.replaceAll(':', ''), 'hex');
      assert.equal(ipv6ToString(bytes, 0), want, full);
    }
  });

  it('the cache returns the same text as the formatter, for colliding last-4-byte keys too', () => {
    const text = new AddressText();
    const a = ip6('2001:db8::1:0:0:5');
    const b = ip6('2001:db9::1:0:0:5');
    const buf = Buffer.concat([Buffer.alloc(3), a, b]);
    for (let i = 0; i < 3; i++) {
      assert.equal(text.ipv6(buf, 3, a.readUInt32BE(12)), '2001:db8::1:0:0:5');
      assert.equal(text.ipv6(buf, 19, b.readUInt32BE(12)), '2001:db9::1:0:0:5');
      assert.equal(text.ipv4(ip4('200.1.2.3')), '200.1.2.3');
    }
  });
});
