import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathOf, ROUTE_MAX_CHARS, RouteNamer, RouteRule, templatePath } from './routes.js';

describe('route templating on realistic URL sets', () => {
  it('REST ids, UUIDs and dates become placeholders; words, versions and slugs stay', () => {
    const cases: [string, string][] = [
      ['/', '/'],
      ['/users/123', '/users/:id'],
      ['/users/123/orders/98765', '/users/:id/orders/:id'],
      ['/api/v1/users/42/avatar', '/api/v1/users/:id/avatar'],
      ['/api/v2/orders/7f3c2a9e-1b4d-4c8e-9a2f-3d5e6f7a8b9c', '/api/v2/orders/:uuid'],
      ['/api/v2/orders/7F3C2A9E1B4D4C8E9A2F3D5E6F7A8B9C', '/api/v2/orders/:hash'], // undashed: a hash
      ['/reports/2024-01-31', '/reports/:date'],
      ['/logs/2024-01-31T12:30:00Z', '/logs/:date'],
      ['/commits/3f9a1c2b7e4d', '/commits/:hash'],
      ['/blobs/d41d8cd98f00b204e9800998ecf8427e', '/blobs/:hash'],
      ['/s/dQw4w9WgXcQa8Yz3Kp2LmN', '/s/:token'],
      ['/reset/eyJhbGciOiJIUzI1NiJ9x7Yz', '/reset/:token'],
      ['/products/blue-running-shoes', '/products/blue-running-shoes'],
      ['/about/team', '/about/team'],
      ['/feed', '/feed'],
      ['/users/123/', '/users/:id/'],
      ['/category/accessories', '/category/accessories'], // a hex-looking word without digits stays
      ['/deadbeef', '/deadbeef'],
    ];
    for (const [path, route] of cases) assert.equal(templatePath(path), route, path);
  });

  it('static assets with content hashes share one route per file name shape', () => {
    const cases: [string, string][] = [
      ['/static/js/main.3f9a1c2b.js', '/static/js/main.:hash.js'],
      ['/static/js/main.8e1d2c4a.js', '/static/js/main.:hash.js'],
      ['/static/css/main.5d41402abc4b2a76.css', '/static/css/main.:hash.css'],
      ['/assets/index-BxK3f9Qa7ZpL2mWq.js', '/assets/index-:hash.js'],
      ['/_next/static/chunks/pages/app-2f4e6a8c0b1d3e5f.js', '/_next/static/chunks/pages/app-:hash.js'],
      ['/images/logo.png', '/images/logo.png'],
      ['/favicon.ico', '/favicon.ico'],
      ['/img/products/12345.jpg', '/img/products/:id.jpg'],
      ['/robots.txt', '/robots.txt'],
    ];
    for (const [path, route] of cases) assert.equal(templatePath(path), route, path);
  });

  it('query strings, fragments and absolute-form authorities are stripped', () => {
    assert.deepEqual(pathOf('/search?q=shoes&page=2'), { path: '/search', authority: '' });
    assert.deepEqual(pathOf('/a#top'), { path: '/a', authority: '' });
    assert.deepEqual(pathOf('http://example.com:8080/x/1?y'), { path: '/x/1', authority: 'example.com:8080' });
    assert.deepEqual(pathOf('HTTP://bro.org'), { path: '/', authority: 'bro.org' });
    assert.deepEqual(pathOf('?x=1'), { path: '/', authority: '' });
    const namer = new RouteNamer();
    assert.equal(namer.route(pathOf('/users/1?sort=asc').path), namer.route(pathOf('/users/2').path));
  });

  it('a hostile stream of random paths does not grow the cache past its bound', () => {
    const namer = new RouteNamer({ cacheSize: 100 });
    for (let i = 0; i < 5000; i++) namer.route(`/x/${Math.random().toString(36).slice(2)}-word/${i}`);
    assert.ok((namer as unknown as { cache: Map<string, string> }).cache.size <= 100);
  });

  it('a very long path is cut after its last whole segment that leaves room for /…, at most ROUTE_MAX_CHARS', () => {
    const long = `/docs${'/chapter/page'.repeat(200)}/42`; // 2,608 characters, no placeholder but the last
    const route = templatePath(long);
    const kept = long.slice(0, long.lastIndexOf('/', ROUTE_MAX_CHARS - 2));
    assert.equal(route, `${kept}/…`);
    assert.ok(route.length <= ROUTE_MAX_CHARS && route.length > ROUTE_MAX_CHARS - 20, `${route.length}`);
    // Paths that differ only past the cut share the route; ones that differ before it do not.
    assert.equal(templatePath(`${long}/other/tail`), route);
    assert.notEqual(templatePath(`/api${long}`), route);
    // Placeholders count as what they became: a template at the limit is kept whole.
    const atLimit = `/${'x'.repeat(ROUTE_MAX_CHARS - 1)}`.replace(/x{60}/g, (m) => `${m.slice(0, 59)}/`);
    assert.equal(atLimit.length, ROUTE_MAX_CHARS);
    assert.equal(templatePath(atLimit), atLimit);
    assert.equal(templatePath(`/users/${'9'.repeat(2000)}`), '/users/:id');
  });
});

describe('--route rules', () => {
  it('first match wins; :name is one segment; a last * is the rest', () => {
    const namer = new RouteNamer({ rules: ['/users/:id/orders', '/users/:name', '/static/*'] });
    assert.equal(namer.route('/users/alice/orders'), '/users/:id/orders');
    assert.equal(namer.route('/users/alice'), '/users/:name');
    assert.equal(namer.route('/static/a/b/c.js'), '/static/*');
    assert.equal(namer.route('/static'), '/static/*');
    assert.equal(namer.route('/users/alice/orders/3'), '/users/alice/orders/:id'); // no rule: automatic
    assert.equal(namer.route('/users//orders'), '/users//orders'); // an empty segment is not a :name
  });

  it('paths are text: non-ASCII rules match characters, percent-escapes are kept as sent', () => {
    const namer = new RouteNamer({ rules: ['/uni/é/:id', '/caf\\xe9/*'] });
    assert.equal(namer.route('/uni/é/日本'), '/uni/é/:id');
    assert.equal(namer.route('/caf\\xe9/7'), '/caf\\xe9/*'); // the text of a path with a latin1 byte E9
    assert.equal(namer.route('/uni/%C3%A9/1'), '/uni/%C3%A9/:id'); // not decoded: not the rule's é
    assert.equal(templatePath('/uni/%C3%A9'), '/uni/%C3%A9');
    assert.equal(templatePath('/wiki/%E6%97%A5%E6%9C%AC'), '/wiki/:token'); // an escaped segment is its characters
    assert.equal(templatePath('/wiki/日本/é.png'), '/wiki/日本/é.png');
  });

  it('bad patterns are usage errors naming --route', () => {
    assert.throws(() => new RouteRule('users/:id'), /--route|must start with \//);
    assert.throws(
      () => new RouteRule('/a/*/b'),
      (e: Error & { where?: string }) => e.where === '--route',
    );
  });
});
