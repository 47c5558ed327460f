/**
 * Library-level byte-exact copies (file-copy.test.ts does the same through the CLI): every corpus `.gor` file
 * that ends with the record separator, read by input-file and written by output-file in append mode, gives an
 * identical file, whatever the speed, and through a .gz file and back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { memoryLogger } from '../../src/core/log.js';
import { Pipeline } from '../../src/core/pipeline.js';
import { fileInput } from '../../src/inputs/file.js';
import { fileOutput } from '../../src/outputs/file.js';
import { corpusFiles } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-file-roundtrip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function copy(from: string, to: string, speed: number, maxWaitMs = 0): Promise<string[]> {
  const log = memoryLogger();
  const input = fileInput({ patterns: [from], speed, maxWaitMs, log });
  const output = fileOutput({ path: to, append: true });
  const summary = await new Pipeline({ inputs: [input], outputs: [output], log }).run();
  assert.deepEqual(summary.failures, []);
  return log.lines;
}

const files = corpusFiles(['.gor']).filter((f) => {
  const bytes = readFileSync(f);
  return bytes.length >= SEPARATOR.length && bytes.subarray(bytes.length - SEPARATOR.length).equals(SEPARATOR);
});

describe('input-file → output-file --output-file-append is byte-exact', () => {
  it('finds the corpus files that end with a separator', () => {
    assert.ok(files.length >= 4, `${files.length} files`);
  });

  const speeds: [string, number, number][] = [
    ['|max', Number.POSITIVE_INFINITY, 0],
    ['|100% (max-wait 1ms)', 1, 1],
    ['|5000% (max-wait 2ms)', 50, 2],
  ];
  let n = 0;
  for (const file of files) {
    for (const [label, speed, maxWait] of speeds) {
      it(`${basename(file)} at ${label}`, async () => {
        const out = join(dir, `${n++}-${basename(file)}`);
        const warnings = await copy(file, out, speed, maxWait);
        assert.deepEqual(warnings, []);
        assert.ok(readFileSync(out).equals(readFileSync(file)), 'copy differs from the original');
      });
    }
    it(`${basename(file)} through a .gz file and back`, async () => {
      const gz = join(dir, `${n++}-${basename(file)}.gz`);
      const back = join(dir, `${n++}-${basename(file)}`);
      await copy(file, gz, Number.POSITIVE_INFINITY);
      await copy(gz, back, Number.POSITIVE_INFINITY);
      assert.ok(readFileSync(back).equals(readFileSync(file)));
    });
  }
});
