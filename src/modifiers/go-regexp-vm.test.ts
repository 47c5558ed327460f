// The linear-time matcher: it must find exactly what V8 finds (same match, same groups) on every pattern the
// translator accepts, and it must finish on the patterns V8 backtracks on for minutes (gor's RE2 never does).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoRegexp, parseTemplate } from './go-regexp.js';
import { translateGoRegexp } from './go-regexp-syntax.js';
import { backtrackCost, backtrackDegree } from './go-regexp-vm.js';

const degree = (pattern: string) => backtrackDegree(translateGoRegexp(pattern).tokens);

describe('Go regexp: which patterns V8 could backtrack on', () => {
  const table: [pattern: string, want: number][] = [
    ['^/api/', 0],
    ['/api/', 1],
    ['^/api/.*', 1],
    ['x.*y', 2], // one repetition, tried at every start
    ['^/v1/(.*)/(.*)$', 2],
    ['.*x.*y', 3],
    ['(a+)+$', Number.POSITIVE_INFINITY],
    ['(a|ab)*c', Number.POSITIVE_INFINITY],
    ['(\\d{1,3}\\.){3}', Number.POSITIVE_INFINITY],
    ['(?:ab)+', 2],
    ['\\Aab*', 1],
    ['(?m)^ab*', 2], // a multi-line ^ can match after any \n
  ];
  for (const [pattern, want] of table) it(`${pattern} → ${want}`, () => assert.equal(degree(pattern), want));
  it('counts the choices made outside repetitions: 2 to their number', () => {
    const branching = (pattern: string) => backtrackCost(translateGoRegexp(pattern).tokens).branching;
    assert.equal(branching('^/api/'), 1);
    assert.equal(branching('^/(GET|POST|PUT)/x?'), 4);
    assert.equal(branching('(a?)(a?)(a?)b'), 8);
    assert.equal(branching('(a?)+'), 1); // inside a repetition: that is the degree's business (Infinity)
  });
});

describe('Go regexp: the linear-time matcher finishes where V8 would not', () => {
  // V8 takes minutes on each of these (2^40 steps; 8000³ steps); Go's RE2 takes microseconds. Without the
  // linear matcher this test does not finish.
  it('(a+)+$ on 40 a and a !', () => {
    const re = new GoRegexp('(a+)+$');
    assert.equal(re.engine, 'linear');
    assert.equal(re.matches(Buffer.from(`/${'a'.repeat(40)}!`)), false);
    assert.equal(re.matches(Buffer.from(`/${'a'.repeat(40)}`)), true);
  });
  it('(a?) written 30 times then b, on 1000 a: choices in a row multiply (2^30 tries for V8)', () => {
    // No repetition of anything ambiguous, and one repetition at most: it was left to V8, which took minutes.
    const re = new GoRegexp(`${'(a?)'.repeat(30)}b`);
    assert.equal(re.engine, 'linear'); // checked first, so that without the fix this fails instead of hanging
    assert.equal(re.matches(Buffer.from(`/${'a'.repeat(1000)}`)), false);
    assert.equal(
      re.replaceAll(Buffer.from(`/${'a'.repeat(1000)}b`), parseTemplate('[$1$30]')).toString(),
      `/${'a'.repeat(970)}[aa]`,
    );
    // A long list of alternatives is one choice: V8 keeps it (the VM would be slower there).
    assert.equal(new GoRegexp(Array.from({ length: 500 }, (_, i) => `/p${i}/`).join('|')).engine, 'v8');
  });
  it('.*x.*y on 8000 x', () => {
    const re = new GoRegexp('.*x.*y');
    assert.equal(re.matches(Buffer.from(`/${'x'.repeat(8000)}`)), false);
    assert.equal(re.matches(Buffer.from(`/${'x'.repeat(8000)}y`)), true);
  });
  it('rewrites a long target with groups, as V8 does on a short one', () => {
    const re = new GoRegexp('^/(\\w+\\.?)+/(.*)$');
    const template = parseTemplate('[$1|$2]');
    const long = `/${'ab.'.repeat(3000)}/rest`;
    assert.equal(re.replaceAll(Buffer.from(long), template).toString(), '[ab.|rest]');
    assert.equal(re.replaceAll(Buffer.from('/a.b/rest'), template).toString(), '[b|rest]');
  });
});

describe('Go regexp: the linear-time matcher agrees with V8', () => {
  // A seeded generator of patterns mixing every construct the translator writes; groups are compared through a
  // replacement. Captures nested in a repeated group are skipped: V8 clears them, Go (and the VM) keep the last.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const atoms = ['a', 'b', '.', '[ab]', '[^a]', '\\w', '\\b', '^', '$', '(?m:^)', '(?m:$)', '\\s', 'é', '\\pL'];
  atoms.push('(?i:a)', '\\B', '\\n', '\\x{1F600}', '[[:alpha:]]', '(?s:.)', '\\W');
  const repeats = ['*', '+', '?', '{1,2}', '*?', '+?', '{2}', '??', '{0,}'];
  const generate = (depth: number): string => {
    const r = random(10);
    if (depth > 3 || r < 4) return atoms[random(atoms.length)]!;
    if (r < 6) return generate(depth + 1) + generate(depth + 1);
    if (r < 7) return `(${generate(depth + 1)}|${generate(depth + 1)})`;
    if (r < 8) return `(?:${generate(depth + 1)})${repeats[random(repeats.length)]}`;
    return `(${generate(depth + 1)})${repeats[random(4)]}`;
  };
  const chars = ['a', 'b', 'a', 'b', ' ', '\n', 'é', '😀', '\u212a', '\r'];
  const template = parseTemplate('<$0|$1|$2|$3>');
  it('on 600 generated patterns × 8 inputs, with and without (?i)', () => {
    let compared = 0;
    for (let i = 0; i < 600; i++) {
      const pattern = (random(4) === 0 ? '(?i)' : '') + generate(0);
      let v8: GoRegexp;
      let linear: GoRegexp;
      try {
        v8 = new GoRegexp(pattern, 'v8');
        linear = new GoRegexp(pattern, 'linear');
      } catch {
        continue; // refused by the translator (tested elsewhere)
      }
      if (v8.translation.capturesInRepeat.size > 0) continue;
      for (let k = 0; k < 8; k++) {
        let text = '';
        for (let j = random(9); j > 0; j--) text += chars[random(chars.length)];
        const input = Buffer.from(text);
        const where = `${pattern} on ${JSON.stringify(text)}`;
        assert.equal(linear.matches(input), v8.matches(input), where);
        assert.equal(linear.replaceAll(input, template).toString(), v8.replaceAll(input, template).toString(), where);
        compared++;
      }
    }
    assert.ok(compared > 2000, `only ${compared} comparisons`);
  });
});
