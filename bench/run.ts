/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks (all when none is named). Each prints its
 * figures next to a reference measured in the same run (cat, wrk, tcpdump, tshark) and the ratio.
 * Benchmarks are bounded in time and size and clean up after themselves.
 */
const benches: Record<string, () => Promise<unknown>> = {
  file: () => import('./file.js').then((m) => m.main()),
  capture: () => import('./capture.js').then((m) => m.main()),
  middleware: () => import('./middleware.js').then((m) => m.main()),
  replay: () => import('./replay.js').then((m) => m.main()),
  analytics: () => import('./analytics.js').then((m) => m.main()),
  kafka: () => import('./kafka.js').then((m) => m.main()),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(benches);
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark ${JSON.stringify(name)}; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== bench ${name}`);
  await bench();
}
