/**
 * Property: any HTTP/1 conversation on one keep-alive connection, sent as TCP segments cut at random, reordered
 * within a window (per direction) and with duplicated segments, comes out of the raw input as exactly the messages that were
 * sent — every request and response whole, in order, each response with its request's id.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { capture, disorder, type Exchange, requestBytes, responseBytes, segments, timed } from './testkit.js';

const tokenArb = fc.stringMatching(/^[a-z0-9]{1,12}$/);
const bodyArb = fc.uint8Array({ maxLength: 2500 }).map((a) => Buffer.from(a));

const exchangeArb: fc.Arbitrary<Exchange> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: tokenArb,
  requestBody: bodyArb,
  status: fc.constantFrom(200, 201, 404, 500),
  responseBody: bodyArb,
  chunked: fc.boolean(),
});

describe('raw input: HTTP/1 exchanges survive segmentation, reordering and duplicates', () => {
  it('emits exactly the requests and responses sent, paired by id', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(exchangeArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
        async (exchanges, cuts, swaps, dups, isn) => {
          const list = disorder(segments(exchanges, cuts, isn), swaps, dups);
          const { msgs } = await capture(timed(list));
          const requests = msgs.filter((m) => m.meta.type === '1');
          const responses = msgs.filter((m) => m.meta.type === '2');
          assert.deepEqual(
            requests.map((m) => m.data.toString('latin1')),
            exchanges.map((x) => requestBytes(x).toString('latin1')),
          );
          assert.deepEqual(
            responses.map((m) => m.data.toString('latin1')),
            exchanges.map((x) => responseBytes(x).toString('latin1')),
          );
          assert.deepEqual(
            responses.map((m) => m.meta.id),
            requests.map((m) => m.meta.id),
          );
          assert.equal(new Set(requests.map((m) => m.meta.id)).size, requests.length, 'ids are unique');
        },
      ),
      { numRuns: 150 },
    );
  });
});
