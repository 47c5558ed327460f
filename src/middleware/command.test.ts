/** The --middleware spawn rule (gor's space split) and the warnings for what a user meant for a shell. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandHints, parseMiddlewareCommand } from './command.js';

const hints = (text: string) => commandHints(parseMiddlewareCommand(text));

describe('middleware command', () => {
  it('splits on every single space, as gor does: no quotes, two spaces make an empty argument', () => {
    assert.deepEqual(parseMiddlewareCommand("python3 'a b.py'  -x"), {
      program: 'python3',
      args: ["'a", "b.py'", '', '-x'],
      text: "python3 'a b.py'  -x",
    });
    assert.throws(() => parseMiddlewareCommand(' cat'), /needs a program to run/);
  });

  it('warns about shell syntax that reaches the program as plain arguments, and about empty arguments', () => {
    assert.match(
      hints('python3 mw.py | tee log')[0]!,
      /^python3 is given "\|" as plain argument\(s\): .*without a shell/,
    );
    assert.match(hints("python3 'mw.py'")[0]!, /is given "'mw\.py'"/);
    assert.match(hints('python3 $HOME/mw.py')[0]!, /is given "\$HOME\/mw\.py"/);
    assert.match(hints('python3 ~/mw.py 2>&1')[0]!, /is given "~\/mw\.py", "2>&1"/);
    assert.match(hints('cat ')[0]!, /1 empty argument\(s\) passed to cat: .*trailing space/);
    // What gor users pass on purpose stays quiet: a regular expression with $ at its end, an option value.
    assert.deepEqual(hints('./mw.sh --match ^/api$ --name=x'), []);
    assert.deepEqual(hints('python3 examples/middleware/add-header.py'), []);
  });
});
