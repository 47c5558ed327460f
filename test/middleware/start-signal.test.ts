/**
 * A SIGTERM sent to tapline's process group while the middleware is being started (`timeout` signals its
 * group; Ctrl-C signals the terminal's) reached the middleware in the moment between fork and its own
 * session, and killed it before it ran: the run failed with "was killed by SIGTERM" although the user only
 * stopped it. About a third of the starts with a SIGTERM within 3 ms of the spawn died so. It is now started
 * again (external.ts, STARTS). A real ExternalMiddleware, real processes, real signals (fixtures/harness).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { collect } from '../support/cli.js';
import { fixture } from './support.js';

it('a group SIGTERM while the middleware starts does not kill it: 40 starts, each passes its message through', async () => {
  const harness = spawn(
    process.execPath,
    ['--import', 'tsx', fixture('harness/group-signal-starts.mts'), '40', '3000'],
    {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const res = await collect(harness, 60_000);
  assert.equal(res.code, 0, res.stderr);
  const result = JSON.parse(res.stdout.toString()) as {
    killed: number;
    clean: number;
    other: string[];
    restarts: number;
    sample: string;
  };
  assert.deepEqual(result.other, []);
  assert.equal(
    result.killed,
    0,
    `${result.killed} of 40 starts killed by the group's SIGTERM (${result.restarts} restarts)`,
  );
  assert.equal(result.clean, 40);
  if (result.restarts > 0)
    assert.match(result.sample, /was killed by SIGTERM while it was being started, before it ran .* started again$/);
});
