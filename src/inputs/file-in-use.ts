/**
 * The files this process reads with `--input-file` and writes with `--output-file`, by identity (device and
 * inode: two names of one file, a symlink or `./a.gor` beside `a.gor`, are one file). A run that writes the
 * file it reads reads its own output back: the file grows without end, like `cat f >> f`, until the disk is
 * full. `cat` refuses ("input file is output file"); so does tapline, on whichever side opens second: an
 * output refuses to open a file an input is reading (file-sink.ts), an input refuses a file an output is
 * writing (a glob re-read by `--input-file-loop`, file.ts).
 *
 * A chunk an output has closed is the run's output too: a glob that --input-file-loop lists again and that matches
 * it would replay it, each pass everything written so far (twice the records a pass). While a looping input is
 * there (watchOwnOutputs()), every file an output opens is remembered after it is closed, by identity and birth
 * time (an inode number freed by a deleted chunk and given to another file is not taken for it).
 *
 * Process-wide on purpose: the inputs and outputs of one run know nothing of each other, and the same file
 * given to two runs in one process (tests) would be the same mistake.
 */

/** The identity of a file from its stat (bigint, so that large inode numbers stay exact). */
export function fileIdentity(st: { dev: bigint; ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}

const reading = new Map<string, number>();
const writing = new Map<string, number>();
/** Identity → birth time (ns; 0 where the file system keeps none) of each file written while an input loops. */
const written = new Map<string, bigint>();
let loopingInputs = 0;

function add(set: Map<string, number>, key: string): () => void {
  set.set(key, (set.get(key) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (set.get(key) ?? 1) - 1;
    if (n > 0) set.set(key, n);
    else set.delete(key);
  };
}

/** An input opens the file: returns the call that says it is done with it. */
export function startReading(key: string): () => void {
  return add(reading, key);
}

/** An output opens the file: returns the call that says it has closed it. */
export function startWriting(key: string, birthNs = 0n): () => void {
  if (loopingInputs > 0) written.set(key, birthNs);
  return add(writing, key);
}

/** A looping input is made (before any output writes): returns the call that says it is gone. */
export function watchOwnOutputs(): () => void {
  loopingInputs++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--loopingInputs === 0) written.clear();
  };
}

/** An output of this process wrote the file (open or closed) while an input was looping. */
export function wasWritten(key: string, birthNs = 0n): boolean {
  return written.get(key) === birthNs;
}

export function isBeingRead(key: string): boolean {
  return reading.has(key);
}

export function isBeingWritten(key: string): boolean {
  return writing.has(key);
}
