// Flag values that cannot do what was meant: a rewrite naming a group its regexp lacks, a method the filters never
// see (warned of; kept as gor keeps them); a target rewritten to nothing or to no target (dropped and counted).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeMeta } from '../core/message.js';
import { NONE_MATCHED_NOTICE } from './chain.js';
import { buildModifierChain, describeModifierStats, type ModifierValues, replacementCharWarnings } from './index.js';

const request = (target: string) => ({
  meta: makeMeta({ type: '1', id: 'b'.repeat(24), timestampNs: 1n }),
  data: Buffer.from(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`),
});

const warningsOf = (values: ModifierValues) => buildModifierChain(values)!.modifiers.flatMap((m) => m.warnings ?? []);

describe('a replacement naming a group its regexp lacks', () => {
  it('is warned of, naming flag, value and the group, for both rewrite flags', () => {
    assert.deepEqual(warningsOf({ 'http-rewrite-url': ['/a:/b$9'] }), [
      '--http-rewrite-url "/a:/b$9": the replacement refers to $9 but the regexp has 0 groups: it expands to nothing, as in gor',
    ]);
    assert.deepEqual(warningsOf({ 'http-rewrite-url': ['^/(\\w+):/$1x'] }), [
      '--http-rewrite-url "^/(\\\\w+):/$1x": the replacement refers to $1x, a group named "1x", but the regexp has ' +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax
        '1 group: it expands to nothing, as in gor (write ${1}x for group 1 followed by "x")',
    ]);
    assert.match(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax
      warningsOf({ 'http-rewrite-header': ['Host: (?P<h>.*),${host}.staging'] }).join('\n'),
      /^--http-rewrite-header .*refers to \$host, a group named "host", but the regexp has 1 group/,
    );
  });
  it('still expands to nothing, as in gor', () => {
    const out = buildModifierChain({ 'http-rewrite-url': ['/a:/b$9'] })!.process(request('/a'));
    assert.equal(out?.data.toString(), 'GET /b HTTP/1.1\r\nHost: h\r\n\r\n');
  });
  it('groups that exist, $0, names and $$ give no warning', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's replacement syntax
    assert.deepEqual(warningsOf({ 'http-rewrite-url': ['^/(?P<p>\\w+)/(\\w+):/$0/$1/${2}/$p/$$9'] }), []);
    assert.deepEqual(warningsOf({ 'http-rewrite-header': ['Host: (.*),$1.beta'] }), []);
  });
});

describe('--http-rewrite-url leaving the target empty or not a request-target', () => {
  it('drops the request (`GET  HTTP/1.1` is not HTTP), counts it and says why in the summary', () => {
    const chain = buildModifierChain({ 'http-rewrite-url': ['^/drop.*:', '^/keep:/kept'] })!;
    assert.equal(chain.process(request('/drop?me=1')), null);
    assert.equal(chain.process(request('/keep'))?.data.toString(), 'GET /kept HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(chain.process(request('/other'))?.data.toString(), 'GET /other HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(chain.stats()['http-rewrite-url'], 1);
    assert.equal(
      describeModifierStats(chain.stats()),
      'filters: --http-rewrite-url dropped 1 (rewritten to an empty target or one not starting with /)',
    );
  });

  it('drops a request whose target it turns into one Go cannot read (`^/a:api`: `GET api/b`), keeps the rest', () => {
    // gor writes `GET api/b HTTP/1.1` and its replay (Go's http.ReadRequest) drops it: "invalid URI for request".
    const chain = buildModifierChain({
      'http-rewrite-url': ['^/a/:api/', '^/q:?', '^/abs:http://b', '^/op:x:y', '^abc$:abd'],
    })!;
    assert.equal(chain.process(request('/a/b?x=1')), null);
    assert.equal(chain.process(request('/q')), null);
    const kept = (target: string) => chain.process(request(target))?.data.toString().split(' ')[1];
    assert.equal(kept('/abs/x'), 'http://b/x', 'an absolute URI is a target');
    assert.equal(kept('/op'), 'x:y', 'so is an opaque one (Go: a scheme and anything)');
    assert.equal(kept('/other'), '/other');
    // A target captured that way already is rewritten as gor rewrites it, not dropped for what it was.
    assert.equal(kept('abc'), 'abd');
    assert.equal(chain.stats()['http-rewrite-url'], 2);
    const options = buildModifierChain({ 'http-rewrite-url': ['^\\*$:x', '^h\\x3a443$:g.example'] })!;
    assert.equal(options.process(request('*')), null, '`OPTIONS x` is no target');
    const connect = Buffer.from('CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n');
    const tunneled = options.process({ meta: request('/').meta, data: connect });
    assert.equal(tunneled?.data.toString().split(' ')[1], 'g.example', 'CONNECT takes an authority');
  });
});

describe('--http-allow-method with a method the filters never see', () => {
  it('is warned of (it keeps nothing), as gor takes it', () => {
    assert.deepEqual(warningsOf({ 'http-allow-method': ['GET', 'get', ''] }), [
      '--http-allow-method "get": no request the filters see has this method (they see CONNECT DELETE GET HEAD ' +
        'OPTIONS PATCH POST PUT TRACE, exact case; other requests pass unfiltered): it matches nothing',
      '--http-allow-method "": no request the filters see has this method (they see CONNECT DELETE GET HEAD ' +
        'OPTIONS PATCH POST PUT TRACE, exact case; other requests pass unfiltered): it matches nothing',
    ]);
    assert.deepEqual(warningsOf({ 'http-allow-method': ['POST', 'OPTIONS'] }), []);
  });
});

describe('an edit of Content-Length or Transfer-Encoding', () => {
  it('is warned of (every request gets it whatever its body), names in any case, as gor takes it', () => {
    const set = warningsOf({ 'http-set-header': ['content-length: 10', 'X-A: 1'] });
    assert.equal(set.length, 1);
    assert.match(
      set[0]!,
      /^--http-set-header "content-length: 10": content-length says where each request's body ends, and this gives every request the same one whatever its body: a request whose body does not fit it is malformed/,
    );
    const rewrite = warningsOf({ 'http-rewrite-header': ['Transfer-Encoding: chunked,identity', 'Host: (.*),$1'] });
    assert.equal(rewrite.length, 1);
    assert.match(
      rewrite[0]!,
      /^--http-rewrite-header "Transfer-Encoding: chunked,identity": Transfer-Encoding says .* rewrites it without regard to the body/,
    );
    assert.deepEqual(warningsOf({ 'http-set-header': ['Content-Type: text/plain', 'Host: x'] }), []);
  });
  it('still sets the header, as gor does', () => {
    const out = buildModifierChain({ 'http-set-header': ['Content-Length: 10'] })!.process(request('/a'));
    assert.equal(out?.data.toString(), 'GET /a HTTP/1.1\r\nContent-Length: 10\r\nHost: h\r\n\r\n');
  });
});

describe('an empty regexp (a shell variable that expanded to nothing)', () => {
  it('is warned of with what it does, naming flag and value; kept as gor keeps it', () => {
    assert.deepEqual(warningsOf({ 'http-disallow-url': ['^/health', ''] }), [
      '--http-disallow-url "": an empty regexp matches everything: every request is dropped',
    ]);
    assert.match(warningsOf({ 'http-allow-url': [''] })[0]!, /^--http-allow-url "": .*every request is kept/);
    assert.match(warningsOf({ 'http-basic-auth-filter': [''] })[0]!, /^--http-basic-auth-filter "": .*keeps every/);
    assert.match(warningsOf({ 'http-rewrite-url': [':x'] })[0]!, /^--http-rewrite-url ":x": .*\/a becomes x\/xax/);
    assert.deepEqual(warningsOf({ 'http-disallow-url': ['^/health'], 'http-rewrite-url': ['^/a:/b'] }), []);
    const chain = buildModifierChain({ 'http-disallow-url': [''] })!;
    assert.equal(chain.process(request('/a')), null);
  });
});

describe('--http-allow-url matching none of the first requests', () => {
  // gor's help calls the value the "full url with domain": a regexp with the host in it (or the method) matches
  // no request-target, and every request was dropped with no word until the summary.
  it('is said once, after NONE_MATCHED_NOTICE requests, with a target it saw', () => {
    const chain = buildModifierChain({ 'http-allow-url': ['shop\\.example\\.com/api'] })!;
    const said: string[] = [];
    chain.notice = (message) => said.push(message);
    for (let i = 1; i < NONE_MATCHED_NOTICE; i++) chain.process(request(`/api/${i}`));
    assert.deepEqual(said, []);
    for (let i = 0; i < 2 * NONE_MATCHED_NOTICE; i++) chain.process(request(`/api/x${i}`));
    assert.equal(said.length, 1);
    assert.match(
      said[0]!,
      /^--http-allow-url: none of the first 1,000 requests matched \(keep request targets matching shop\\\.example\\\.com\/api\), so every one was dropped\. The regexp sees the request-target as sent, such as "\/api\/x0": path and query/,
    );
  });
  it('is not said once a request matched', () => {
    const chain = buildModifierChain({ 'http-allow-url': ['^/api/1$'] })!;
    const said: string[] = [];
    chain.notice = (message) => said.push(message);
    for (let i = 1; i <= 3 * NONE_MATCHED_NOTICE; i++) chain.process(request(`/api/${i}`));
    assert.deepEqual(said, []);
    assert.equal(chain.stats()['http-allow-url'], 3 * NONE_MATCHED_NOTICE - 1);
  });
});

describe('a flag value holding U+FFFD (a byte that is not UTF-8)', () => {
  it('is warned of with a credential header value masked, as usage errors mask it (docs/errors.md)', () => {
    const [secret, plain] = replacementCharWarnings({
      'http-set-header': ['Authorization: Bearer s3cr\ufffdt', 'X-Name: Jos\ufffd'],
    });
    assert.match(secret!, /^--http-set-header "Authorization: \*\*\*": holds U\+FFFD/);
    assert.doesNotMatch(secret!, /s3cr/);
    assert.match(plain!, /^--http-set-header "X-Name: Jos\ufffd": holds U\+FFFD/);
  });
});
