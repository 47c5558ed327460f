/**
 * A linear-time matcher for Go patterns that JavaScript's backtracking engine could take minutes on.
 *
 * gor matches with Go's RE2 engine, whose time grows with the input's length and never explodes. V8 backtracks:
 * `(a+)+$` on 40 bytes of `a` and a `!`, or `.*x.*y` on an 8 KB target full of `x`, runs for minutes, and the
 * whole pipeline (and Ctrl-C) waits. A request target or header value comes from the traffic, so anyone who
 * can send a request to the captured service could stall the replay. Patterns that cannot backtrack badly (at
 * most one repetition, and nothing ambiguous inside it) keep V8's engine, which is faster on them; the others run
 * here, in a Pike VM (a Thompson NFA simulation that keeps threads in priority order, as Go's own NFA does):
 *
 *   translator tokens ──parse──▶ tree ──compile──▶ program ──run──▶ leftmost-first match and groups
 *                                                  (char, assertion, split, jump, save, match)
 *
 * Every step advances all live threads over one code point, and a program counter is taken at most once per
 * position, so the work is bounded by input length × program size. A character or assertion is tested with
 * the very JS source the translator wrote (compiled with the same flags), so both engines agree on what a
 * class, `\b` or a multi-line `^` means; leftmost-first priority gives the same match and groups as V8 and Go
 * (groups nested in a repeated group differ between those two anyway, and replacements may not use them).
 */
import type { GoToken } from './go-regexp-syntax.js';

/** What `RegExp.prototype.exec` gives: [match, group1, …] and where the match starts. */
export interface VmMatch {
  readonly index: number;
  readonly groups: readonly (string | undefined)[];
}

type Node =
  | { readonly kind: 'atom' | 'assertion'; readonly source: string }
  | { readonly kind: 'concat' | 'alternation'; readonly items: readonly Node[] }
  | { readonly kind: 'group'; readonly capture: number | undefined; readonly body: Node }
  | { readonly kind: 'repeat'; readonly min: number; readonly max: number; readonly lazy: boolean; body: Node };

/** Beyond this many instructions (`(x{1,1000}){1,1000}`) the VM is not used: V8 matches such patterns itself. */
const MAX_PROGRAM = 100_000;
/** Code points whose answer each character test remembers. */
const CACHE_LIMIT = 4096;

const ATOM = 0;
const ASSERT = 1;
const SPLIT = 2;
const JUMP = 3;
const SAVE = 4;
const MATCH = 5;

interface Instruction {
  op: number;
  /** ATOM/ASSERT: test index; SPLIT/JUMP: preferred target; SAVE: slot. */
  a: number;
  /** SPLIT: the other target. */
  b: number;
}

/** Parses the translator's tokens into a tree. */
function parse(tokens: readonly GoToken[]): Node {
  let pos = 0;
  const alternation = (): Node => {
    const branches: Node[] = [concat()];
    while (tokens[pos]?.kind === 'alternation') {
      pos++;
      branches.push(concat());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alternation', items: branches };
  };
  const concat = (): Node => {
    const items: Node[] = [];
    for (let t = tokens[pos]; t && t.kind !== 'alternation' && t.kind !== 'close'; t = tokens[pos]) {
      pos++;
      let node: Node;
      if (t.kind === 'atom' || t.kind === 'assertion') node = { kind: t.kind, source: t.source };
      else if (t.kind === 'open') {
        const body = alternation();
        pos++; // close
        node = { kind: 'group', capture: t.capture, body };
      } else if (t.kind === 'repeat') {
        // The translator never emits a repeat without an operand.
        const body = items.pop()!;
        node = { kind: 'repeat', min: t.min, max: t.max, lazy: t.lazy, body };
      } else continue;
      items.push(node);
    }
    return { kind: 'concat', items };
  };
  return alternation();
}

/**
 * How V8's backtracking time can grow with the input's length n: about branching × n^degree steps.
 *
 * degree is Infinity when a repetition's operand can match the same text in more than one way (it holds an
 * alternation or another repetition: `(a+)+`, `(a|ab)*`): that is exponential in n. Otherwise each repetition can
 * give back characters to the others, one factor of n each (`.*x.*y` is n² per start), and an unanchored pattern
 * is tried at every start.
 *
 * branching is 2 to the number of choices made outside repetitions (an optional part, `a?` or `a{0,1}`, or an
 * alternation): V8 may try every combination before it fails, so `(a?)(a?)…(a?)b` with 50 optionals is 2^50 tries
 * on a run of `a` (it took minutes at 20 optionals on 1,000 bytes). An alternation counts 2 however many branches
 * it has: one long list of paths is cheap for V8 (the branches fail at their first character), many choices in a
 * row are what multiply.
 */
export function backtrackCost(tokens: readonly GoToken[]): { degree: number; branching: number } {
  let repeats = 0;
  let ambiguousLoop = false;
  let branching = 1;
  const choose = (ways: number) => {
    branching = Math.min(branching * ways, Number.MAX_SAFE_INTEGER);
  };
  const walk = (node: Node, inLoop: boolean): void => {
    switch (node.kind) {
      case 'atom':
      case 'assertion':
        return;
      case 'concat':
        for (const item of node.items) walk(item, inLoop);
        return;
      case 'alternation':
        if (inLoop) ambiguousLoop = true;
        else choose(2);
        for (const item of node.items) walk(item, inLoop);
        return;
      case 'group':
        walk(node.body, inLoop);
        return;
      case 'repeat':
        if (inLoop) ambiguousLoop = true;
        if (node.max >= 2) repeats++;
        else if (node.min < node.max && !inLoop) choose(2);
        walk(node.body, inLoop || node.max >= 2);
    }
  };
  const root = parse(tokens);
  walk(root, false);
  if (ambiguousLoop) return { degree: Number.POSITIVE_INFINITY, branching };
  return { degree: repeats + (isAnchored(root) ? 0 : 1), branching };
}

/** backtrackCost's degree alone. */
export function backtrackDegree(tokens: readonly GoToken[]): number {
  return backtrackCost(tokens).degree;
}

/** Does every match have to start at the start of the text (`^…` or `\A…` without (?m))? */
function isAnchored(node: Node): boolean {
  if (node.kind === 'assertion') return node.source === '(?:^)';
  if (node.kind === 'concat') return node.items.length > 0 && isAnchored(node.items[0]!);
  if (node.kind === 'group') return isAnchored(node.body);
  return false;
}

export class PikeVm {
  private readonly program: Instruction[] = [];
  private readonly atoms: {
    readonly re: RegExp;
    /** Answers for ASCII: 0 unknown, 1 yes, 2 no. */
    readonly ascii: Uint8Array;
    readonly cache: Map<number, boolean>;
  }[] = [];
  private readonly assertions: RegExp[] = [];
  private readonly slots: number;
  private readonly seen: Uint32Array;
  private generation = 0;

  /** Null when the program would be too large (callers keep V8's engine then). */
  static compile(tokens: readonly GoToken[], flags: string, groups: number): PikeVm | null {
    try {
      return new PikeVm(tokens, flags, groups);
    } catch (err) {
      if (err instanceof ProgramTooLarge) return null;
      throw err;
    }
  }

  private constructor(
    tokens: readonly GoToken[],
    private readonly flags: string,
    groups: number,
  ) {
    this.slots = 2 * (groups + 1);
    this.emit(parse(tokens));
    this.program.push({ op: MATCH, a: 0, b: 0 });
    this.seen = new Uint32Array(this.program.length);
  }

  private push(op: number, a = 0, b = 0): Instruction {
    if (this.program.length >= MAX_PROGRAM) throw new ProgramTooLarge();
    const ins = { op, a, b };
    this.program.push(ins);
    return ins;
  }

  private emit(node: Node): void {
    switch (node.kind) {
      case 'atom':
        this.atoms.push({
          re: new RegExp(`^(?:${node.source})$`, this.flags),
          ascii: new Uint8Array(128),
          cache: new Map(),
        });
        this.push(ATOM, this.atoms.length - 1);
        return;
      case 'assertion':
        this.assertions.push(new RegExp(node.source, `${this.flags}y`));
        this.push(ASSERT, this.assertions.length - 1);
        return;
      case 'concat':
        for (const item of node.items) this.emit(item);
        return;
      case 'alternation': {
        const jumps: Instruction[] = [];
        node.items.forEach((item, i) => {
          const last = i === node.items.length - 1;
          const split = last ? null : this.push(SPLIT);
          if (split) split.a = this.program.length;
          this.emit(item);
          if (!last) jumps.push(this.push(JUMP));
          if (split) split.b = this.program.length;
        });
        for (const j of jumps) j.a = this.program.length;
        return;
      }
      case 'group':
        if (node.capture !== undefined) this.push(SAVE, 2 * node.capture);
        this.emit(node.body);
        if (node.capture !== undefined) this.push(SAVE, 2 * node.capture + 1);
        return;
      case 'repeat':
        this.emitRepeat(node);
    }
  }

  private emitRepeat(node: Extract<Node, { kind: 'repeat' }>): void {
    for (let i = 0; i < node.min; i++) this.emit(node.body);
    const branch = (split: Instruction, body: number, out: number) => {
      // Greedy prefers another round; lazy prefers leaving.
      split.a = node.lazy ? out : body;
      split.b = node.lazy ? body : out;
    };
    if (node.max === Number.POSITIVE_INFINITY) {
      const loop = this.program.length;
      const split = this.push(SPLIT);
      this.emit(node.body);
      this.push(JUMP, loop);
      branch(split, loop + 1, this.program.length);
      return;
    }
    const splits: [Instruction, number][] = [];
    for (let i = node.min; i < node.max; i++) {
      const split = this.push(SPLIT);
      splits.push([split, this.program.length]);
      this.emit(node.body);
    }
    for (const [split, body] of splits) branch(split, body, this.program.length);
  }

  private atom(index: number, cp: number): boolean {
    const { re, ascii, cache } = this.atoms[index]!;
    if (cp < 128) {
      if (ascii[cp] === 0) ascii[cp] = re.test(String.fromCharCode(cp)) ? 1 : 2;
      return ascii[cp] === 1;
    }
    const known = cache.get(cp);
    if (known !== undefined) return known;
    const ok = re.test(String.fromCodePoint(cp));
    if (cache.size < CACHE_LIMIT) cache.set(cp, ok);
    return ok;
  }

  private assertion(index: number, s: string, pos: number): boolean {
    const re = this.assertions[index]!;
    re.lastIndex = pos;
    return re.test(s);
  }

  /** Adds the thread at `pc` and everything reachable from it without consuming input, in priority order. */
  private addThread(list: Thread[], pc0: number, caps0: Int32Array, s: string, pos: number): void {
    const stack: [number, Int32Array][] = [[pc0, caps0]];
    const seen = this.seen;
    const generation = this.generation;
    while (stack.length > 0) {
      const [pc, caps] = stack.pop()!;
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      const ins = this.program[pc]!;
      switch (ins.op) {
        case JUMP:
          stack.push([ins.a, caps]);
          break;
        case SPLIT:
          stack.push([ins.b, caps], [ins.a, caps]);
          break;
        case SAVE: {
          const copy = caps.slice();
          copy[ins.a] = pos;
          stack.push([pc + 1, copy]);
          break;
        }
        case ASSERT:
          if (this.assertion(ins.a, s, pos)) stack.push([pc + 1, caps]);
          break;
        default:
          list.push({ pc, caps });
      }
    }
  }

  /** A fresh mark for `seen`: one per input position. */
  private nextGeneration(): number {
    if (++this.generation === 0xffffffff) {
      this.seen.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }

  /** The leftmost-first match starting at or after `from`, as a global RegExp's exec with lastIndex = from. */
  exec(s: string, from: number): VmMatch | null {
    let current: Thread[] = [];
    let next: Thread[] = [];
    let matched: Int32Array | null = null;
    let generation = this.nextGeneration(); // the mark of the threads in `current`, all at `pos`
    for (let pos = from; pos <= s.length; ) {
      if (matched === null) {
        // A new attempt starting here, with less priority than the older ones still running.
        const caps = new Int32Array(this.slots).fill(-1);
        caps[0] = pos;
        this.generation = generation;
        this.addThread(current, 0, caps, s, pos);
      }
      if (current.length === 0 && matched !== null) break;
      const cp = pos < s.length ? s.codePointAt(pos)! : -1;
      const width = cp > 0xffff ? 2 : 1;
      generation = this.nextGeneration();
      for (const thread of current) {
        const ins = this.program[thread.pc]!;
        if (ins.op === MATCH) {
          matched = thread.caps.slice();
          matched[1] = pos;
          break; // the threads after this one have lower priority
        }
        if (cp >= 0 && this.atom(ins.a, cp)) this.addThread(next, thread.pc + 1, thread.caps, s, pos + width);
      }
      [current, next] = [next, current];
      next.length = 0;
      pos += width;
    }
    if (matched === null) return null;
    const groups: (string | undefined)[] = [];
    for (let g = 0; g < this.slots; g += 2) {
      const [a, b] = [matched[g]!, matched[g + 1]!];
      groups.push(a >= 0 && b >= 0 ? s.slice(a, b) : undefined);
    }
    return { index: matched[0]!, groups };
  }
}

interface Thread {
  pc: number;
  caps: Int32Array;
}

class ProgramTooLarge extends Error {}
