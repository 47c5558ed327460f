/**
 * `--http-rewrite-header 'Name: REGEXP,REPLACEMENT'` (spec §7.6 step 12, §7.7): when the header's value matches,
 * every match is replaced (Go's ReplaceAll) and the header set. gor quirk kept: a rule whose header is missing or
 * empty stops ALL later rewrite-header rules (a `break`). Parsing: split at the first colon (name as written),
 * trim the rest, split at the first comma, so the regexp cannot contain a comma (a name that is not a token,
 * `'Host : a,b'`, is a usage error: it names no header). Unlike gor, a header line in
 * the body is not taken for the header (head-header.ts): such a rule finds its header missing.
 */
import { splice } from '../protocol/http1/bytes.js';
import { headHeader } from './head-header.js';
import { flagError, goTrimSpace, type Modifier, splitFirst } from './modifier.js';
import { parseReplacement } from './replacement.js';
import { checkHeaderText, checkLookedUpName, framingWarning } from './wire-syntax.js';

const FLAG = 'http-rewrite-header';

export function rewriteHeader(values: readonly string[]): Modifier {
  const rules = values.map((value) => {
    const nameAndRest = splitFirst(value, ':');
    const parts = nameAndRest && splitFirst(goTrimSpace(nameAndRest[1]), ',');
    if (!nameAndRest || !parts) {
      throw flagError(FLAG, value, 'expected `Name: regexp,replacement` (e.g. Host: (.*)\\.example\\.com,$1.staging)');
    }
    checkLookedUpName(FLAG, value, nameAndRest[0]);
    // 'X: a{1,3},b' splits into 'a{1' (a valid regexp: a literal brace) and '3},b'.
    if (/\{\d*$/.test(parts[0]) && /^\d*\}/.test(parts[1])) {
      throw flagError(
        FLAG,
        value,
        `the value is split at its first "," (as gor splits it), so this is the regexp ${JSON.stringify(parts[0])} ` +
          `and the replacement ${JSON.stringify(parts[1])}: a repeat {n,m} cannot be written here; write it out ` +
          '(a{1,3} is aa?a?) or use + or *',
      );
    }
    return {
      name: Buffer.from(nameAndRest[0]),
      ...parseReplacement(FLAG, value, parts[0], parts[1], checkHeaderText, ','),
    };
  });
  return {
    flag: FLAG,
    description: `rewrite headers ${rules.map((r) => r.name).join(', ')}`,
    dropped: 0,
    warnings: rules.flatMap((rule, i) =>
      [framingWarning(FLAG, values[i]!, rule.name.toString()) ?? [], rule.warnings].flat(),
    ),
    apply(payload) {
      let out = payload;
      for (const rule of rules) {
        const found = headHeader(out, rule.name);
        if (found === null || found.value.length === 0) break; // gor: a missing header ends header rewriting
        const rewritten = rule.regexp.replaceAllIfMatch(found.value, rule.template);
        // What setHeader would do with the header it finds (the same one), without finding it again.
        if (rewritten !== null) out = splice(out, found.valueStart, found.valueEnd, rewritten);
      }
      return out;
    },
  };
}
