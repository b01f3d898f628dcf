import { invalidFilter, invalidPath } from './errors';

/**
 * The RFC 7644 §3.4.2.2 filter grammar, as a tokenizer plus a recursive-descent parser that
 * yields a tree the SQL compiler (filter-sql.ts) and the PATCH engine (patch.ts) walk.
 *
 * Why not scimmy's `SCIMMY.Types.Filter`: in scimmy 1.3.5 it flattens a filter into a
 * disjunction of attribute→condition maps, which loses what this server needs —
 * `emails[type eq "work"] and emails[type eq "home"]` becomes one element that must have both
 * types (never true), `a and (b or (c and d))` is rejected with "Unexpected token ')'", and an
 * escaped quote inside a string (`"a\"b"`) is a syntax error. A tree keeps value paths,
 * grouping and `not` exactly as written.
 *
 * Precedence, highest first: grouping and `not (...)`, then `and`, then `or`. Operators and
 * the literals true/false/null are matched case-insensitively (RFC 7644 §3.4.2.2). Two
 * liberties for real IdP traffic: an unquoted bare word is a string value (Entra's legacy
 * `externalId eq jyoung`), and a value path may be followed by `.subAttr op value`
 * (`emails[type eq "work"].value eq "x"`, which Entra uses as a uniqueness filter), read as
 * `emails[type eq "work" and value eq "x"]`.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; expr: FilterNode }
  | { kind: 'compare'; path: string; op: CompareOp; value: FilterValue }
  | { kind: 'present'; path: string }
  | { kind: 'valuePath'; path: string; filter: FilterNode };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
/** Longest filter accepted; a filter is one lookup, not a document. */
export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;
/**
 * Most comparisons (`eq`, `co`, `pr`, ...) one filter may hold. IdPs look up by one to three
 * terms; 4 KB of OR-ed `co` terms is about 500, each a scan of its own (docs/scim.md, "Bounds").
 */
export const MAX_FILTER_TERMS = 100;

type Token = { t: 'word'; v: string; at: number } | { t: 'string'; v: string; at: number } | { t: '(' | ')' | '[' | ']'; at: number };

const ATTR_PATH = /^(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/i;
const SUB_ATTR = /^\.[A-Za-z$][\w$-]*$/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function tokenize(input: string, fail: (msg: string) => Error): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ t: c, at: i });
      i++;
    } else if (c === '"') {
      // A JSON string literal: escapes as JSON defines them.
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw fail(`unterminated string starting at position ${i + 1}`);
      let value: string;
      try {
        value = JSON.parse(input.slice(i, j + 1)) as string;
      } catch {
        throw fail(`invalid escape in string starting at position ${i + 1}`);
      }
      tokens.push({ t: 'string', v: value, at: i });
      i = j + 1;
    } else {
      let j = i;
      while (j < input.length && !' \t\n\r()[]"'.includes(input[j]!)) j++;
      tokens.push({ t: 'word', v: input.slice(i, j), at: i });
      i = j;
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  private depth = 0;
  private terms = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly fail: (msg: string) => Error,
  ) {}

  parseAll(): FilterNode {
    if (this.tokens.length === 0) throw this.fail('empty filter');
    const node = this.parseOr();
    const extra = this.peek();
    if (extra) throw this.fail(`unexpected ${describe(extra)} at position ${extra.at + 1}`);
    return node;
  }

  /** For PATCH paths: the value filter inside brackets, up to (not including) ']'. */
  parseValueFilter(): FilterNode {
    return this.parseOr();
  }

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  next(): Token | undefined {
    return this.tokens[this.pos++];
  }

  private keyword(word: string): boolean {
    const tok = this.peek();
    return tok?.t === 'word' && tok.v.toLowerCase() === word;
  }

  private expect(t: Token['t']): Token {
    const tok = this.next();
    if (!tok) throw this.fail(`expected '${t}' but the filter ended`);
    if (tok.t !== t) throw this.fail(`expected '${t}' at position ${tok.at + 1}, found ${describe(tok)}`);
    return tok;
  }

  private nested<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) throw this.fail('filter is nested too deeply');
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.keyword('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.keyword('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    const tok = this.peek();
    if (!tok) throw this.fail('the filter ended where an expression was expected');
    if (this.keyword('not')) {
      this.next();
      this.expect('(');
      const expr = this.nested(() => this.parseOr());
      this.expect(')');
      return { kind: 'not', expr };
    }
    if (tok.t === '(') {
      this.next();
      const expr = this.nested(() => this.parseOr());
      this.expect(')');
      return expr;
    }
    return this.parseAttrExpr();
  }

  private parseAttrExpr(): FilterNode {
    const pathTok = this.next()!;
    if (pathTok.t !== 'word' || !ATTR_PATH.test(pathTok.v)) {
      throw this.fail(`expected an attribute name at position ${pathTok.at + 1}, found ${describe(pathTok)}`);
    }
    const path = pathTok.v;
    if (this.peek()?.t === '[') {
      if (path.includes('.') && !path.toLowerCase().startsWith('urn:')) {
        throw this.fail(`a value filter applies to an attribute, not to the sub-attribute '${path}'`);
      }
      this.next();
      const filter = this.nested(() => this.parseOr());
      this.expect(']');
      const after = this.peek();
      if (after?.t === 'word' && SUB_ATTR.test(after.v)) {
        this.next();
        const sub = after.v.slice(1);
        const condition = this.parseComparison(sub);
        return { kind: 'valuePath', path, filter: { kind: 'and', left: filter, right: condition } };
      }
      return { kind: 'valuePath', path, filter };
    }
    return this.parseComparison(path);
  }

  private parseComparison(path: string): FilterNode {
    if (++this.terms > MAX_FILTER_TERMS) throw this.fail(`more than ${MAX_FILTER_TERMS} comparisons; a filter may hold at most ${MAX_FILTER_TERMS}`);
    const opTok = this.next();
    if (!opTok) throw this.fail(`expected an operator after '${path}'`);
    const op = opTok.t === 'word' ? opTok.v.toLowerCase() : '';
    if (op === 'pr') return { kind: 'present', path };
    if (!COMPARE_OPS.has(op)) {
      throw this.fail(`unknown operator ${describe(opTok)} at position ${opTok.at + 1}`);
    }
    const valueTok = this.next();
    if (!valueTok) throw this.fail(`expected a value after '${path} ${op}'`);
    return { kind: 'compare', path, op: op as CompareOp, value: this.literal(valueTok) };
  }

  private literal(tok: Token): FilterValue {
    if (tok.t === 'string') return tok.v;
    if (tok.t !== 'word') throw this.fail(`expected a value at position ${tok.at + 1}, found ${describe(tok)}`);
    const lower = tok.v.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    if (NUMBER.test(tok.v)) return Number(tok.v);
    if (['and', 'or', 'not', 'pr', ...COMPARE_OPS].includes(lower)) {
      throw this.fail(`expected a value at position ${tok.at + 1}, found '${tok.v}'`);
    }
    return tok.v;
  }
}

function describe(tok: Token): string {
  if (tok.t === 'word') return `'${tok.v}'`;
  if (tok.t === 'string') return 'a string';
  return `'${tok.t}'`;
}

/** Parses a `filter` query parameter; throws 400 invalidFilter naming the problem. */
export function parseFilter(input: string): FilterNode {
  if (input.length > MAX_FILTER_LENGTH) throw invalidFilter(`filter is longer than ${MAX_FILTER_LENGTH} characters`);
  const fail = (msg: string) => invalidFilter(`invalid filter: ${msg}`);
  return new Parser(tokenize(input, fail), fail).parseAll();
}

/** A PATCH operation path: `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]`, `attr[filter].sub`. */
export interface PatchPath {
  /** The attribute path before any value filter, as written. */
  attr: string;
  filter?: FilterNode;
  /** Sub-attribute after a value filter. */
  subAttr?: string;
}

export function parsePatchPath(input: string): PatchPath {
  const fail = (msg: string) => invalidPath(`invalid path: ${msg}`);
  if (input.length > MAX_FILTER_LENGTH) throw fail('too long');
  const text = input.trim();
  const open = text.indexOf('[');
  if (open < 0) {
    if (!ATTR_PATH.test(text)) throw fail(`'${text}' is not an attribute path`);
    return { attr: text };
  }
  const attr = text.slice(0, open);
  if (!ATTR_PATH.test(attr) || (attr.includes('.') && !attr.toLowerCase().startsWith('urn:'))) {
    throw fail(`'${attr}' cannot carry a value filter`);
  }
  const tokens = tokenize(text.slice(open), (msg) => fail(msg));
  const parser = new Parser(tokens, (msg) => fail(msg));
  parser.next();
  const filter = parser.parseValueFilter();
  const close = parser.next();
  if (close?.t !== ']') throw fail("expected ']' after the value filter");
  const after = parser.next();
  if (!after) return { attr, filter };
  if (after.t !== 'word' || !SUB_ATTR.test(after.v) || parser.peek()) {
    throw fail('only a sub-attribute may follow a value filter');
  }
  return { attr, filter, subAttr: after.v.slice(1) };
}

/** Every attribute path a filter mentions at its top level (value-path contents excluded). */
export function topLevelPaths(node: FilterNode): string[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return [...topLevelPaths(node.left), ...topLevelPaths(node.right)];
    case 'not':
      return topLevelPaths(node.expr);
    default:
      return [node.path];
  }
}
