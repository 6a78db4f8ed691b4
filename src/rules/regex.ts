/**
 * Regular expressions for `matches`: RE2 semantics (re2js, linear time, no backtracking), with a size
 * budget. RE2's matching time is linear in the input but also proportional to the compiled program
 * when its DFA gives up, and compiling expands counted repetitions (`.{1000}` is 1,000 instructions),
 * so the budget bounds both; a cheap scan of the pattern rejects a huge expansion before compiling it.
 */
import { RE2JS } from "re2js";

/**
 * An over-estimate of the RE2 program size of `pattern`, from the pattern text: every atom counts one,
 * a group the sum of its contents, and `{n,m}` multiplies the atom before it by its largest count.
 */
export function estimateProgramSize(pattern: string): number {
  const stack = [0];
  let last = 0;
  const add = (size: number) => {
    stack[stack.length - 1] = (stack.at(-1) as number) + size;
    last = size;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      const e = pattern[i];
      if ((e === "p" || e === "P" || e === "x") && pattern[i + 1] === "{") {
        const close = pattern.indexOf("}", i);
        i = close === -1 ? pattern.length : close;
      } else if (e === "Q") {
        const end = pattern.indexOf("\\E", i);
        const stop = end === -1 ? pattern.length : end;
        for (let k = i + 1; k < stop; k++) add(1);
        i = end === -1 ? pattern.length : end + 1;
        continue;
      }
      add(1);
    } else if (c === "[") {
      let k = i + 1;
      if (pattern[k] === "^") k++;
      if (pattern[k] === "]") k++;
      while (k < pattern.length && pattern[k] !== "]") {
        if (pattern[k] === "\\") k++;
        else if (pattern.startsWith("[:", k)) {
          const close = pattern.indexOf(":]", k + 2);
          if (close !== -1) k = close + 1;
        }
        k++;
      }
      i = k;
      add(1);
    } else if (c === "(") {
      stack.push(0);
      last = 0;
    } else if (c === ")") {
      const group = stack.length > 1 ? (stack.pop() as number) : 0;
      add(group + 1);
    } else if (c === "{") {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i, i + 16));
      if (!m) {
        add(1);
        continue;
      }
      const min = Number(m[1]);
      const count = m[2] === undefined ? min : m[3] ? Number(m[3]) : min + 1;
      stack[stack.length - 1] = (stack.at(-1) as number) + last * (Math.max(count, 1) - 1) + 1;
      last *= Math.max(count, 1);
      i += m[0].length - 1;
    } else if (c === "*" || c === "+" || c === "?" || c === "|") {
      stack[stack.length - 1] = (stack.at(-1) as number) + 1;
      if (c === "|") last = 0;
    } else {
      add(1);
    }
  }
  return stack.reduce((a, b) => a + b, 0);
}

export type CompiledRegex =
  | { tooLarge: false; re: RE2JS; size: number }
  | { tooLarge: true; size: number; estimated: boolean };

/**
 * Compiles with RE2 semantics. Returns the RE2 error text when the pattern is invalid, and `tooLarge`
 * (with the program size, or the estimate when it was not even compiled) when it is over `budget`.
 */
export function compileRegex(pattern: string, budget: number): CompiledRegex | string {
  // The estimate over-counts a little; a pattern far over it would take long to expand and compile.
  const estimate = estimateProgramSize(pattern);
  if (estimate > budget * 4 + 100) return { tooLarge: true, size: estimate, estimated: true };
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e);
  }
  const size = re.programSize();
  if (size > budget) return { tooLarge: true, size, estimated: false };
  return { tooLarge: false, re, size };
}
