/**
 * The script language's parser: tokens (lexer.ts) to a syntax tree, by recursive descent with
 * Java's operator precedence. Every node keeps its source offset for error positions. Nesting is
 * bounded so a hostile script cannot exhaust the stack.
 */
import { compileError } from './errors.ts';
import { tokenize, type ScriptToken } from './lexer.ts';

/** Declared types: numbers are doubles at run time; `int`/`long`/`short`/`byte` truncate on assignment. */
export const TYPE_NAMES = new Set(['def', 'var', 'int', 'long', 'short', 'byte', 'double', 'float', 'boolean', 'String', 'List', 'Map', 'ArrayList', 'HashMap', 'Object']);

export type Expr =
  | { k: 'num'; pos: number; v: number }
  | { k: 'str'; pos: number; v: string }
  | { k: 'bool'; pos: number; v: boolean }
  | { k: 'null'; pos: number }
  | { k: 'name'; pos: number; name: string }
  | { k: 'member'; pos: number; obj: Expr; name: string; safe: boolean }
  | { k: 'index'; pos: number; obj: Expr; key: Expr }
  | { k: 'call'; pos: number; obj: Expr; name: string; args: Expr[]; safe: boolean }
  | { k: 'unary'; pos: number; op: '-' | '+' | '!'; e: Expr }
  | { k: 'binary'; pos: number; op: string; l: Expr; r: Expr }
  | { k: 'logical'; pos: number; op: '&&' | '||'; l: Expr; r: Expr }
  | { k: 'elvis'; pos: number; l: Expr; r: Expr }
  | { k: 'cond'; pos: number; c: Expr; t: Expr; f: Expr }
  | { k: 'assign'; pos: number; op: string; target: Expr; value: Expr }
  | { k: 'update'; pos: number; op: '++' | '--'; prefix: boolean; target: Expr }
  | { k: 'list'; pos: number; items: Expr[] }
  | { k: 'map'; pos: number; entries: [Expr, Expr][] }
  | { k: 'cast'; pos: number; type: string; e: Expr };

export type Stmt =
  | { k: 'decl'; pos: number; type: string; vars: { name: string; pos: number; init: Expr | undefined }[] }
  | { k: 'expr'; pos: number; e: Expr }
  | { k: 'if'; pos: number; c: Expr; then: Stmt; else: Stmt | undefined }
  | { k: 'for'; pos: number; init: Stmt | undefined; c: Expr | undefined; step: Expr[]; body: Stmt }
  | { k: 'foreach'; pos: number; type: string; name: string; iterable: Expr; body: Stmt }
  | { k: 'while'; pos: number; c: Expr; body: Stmt }
  | { k: 'do'; pos: number; c: Expr; body: Stmt }
  | { k: 'return'; pos: number; e: Expr | undefined }
  | { k: 'break'; pos: number }
  | { k: 'continue'; pos: number }
  | { k: 'block'; pos: number; body: Stmt[] }
  | { k: 'empty'; pos: number };

/** How deeply expressions and statements may nest. */
const MAX_DEPTH = 100;

const BINARY_LEVELS: string[][] = [
  ['==', '!=', '===', '!=='],
  ['<', '>', '<=', '>='],
  ['+', '-'],
  ['*', '/', '%'],
];
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=']);
const RESERVED = new Set(['if', 'else', 'for', 'while', 'do', 'return', 'break', 'continue', 'true', 'false', 'null', 'new', 'instanceof', 'try', 'catch', 'throw', 'in']);

export function parseScript(source: string): Stmt[] {
  return new Parser(source, tokenize(source)).program();
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: ScriptToken[],
  ) {}

  program(): Stmt[] {
    const body: Stmt[] = [];
    while (this.peek().kind !== 'eof') body.push(this.statement());
    if (body.length === 0) throw this.error(this.peek(), 'a script needs at least one statement');
    return body;
  }

  // ---- tokens ----

  private peek(ahead = 0): ScriptToken {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private next(): ScriptToken {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private isOp(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'op' && t.text === text;
  }

  private isWord(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'name' && t.text === text;
  }

  private eat(text: string): boolean {
    if (!this.isOp(text)) return false;
    this.i++;
    return true;
  }

  private expect(text: string): ScriptToken {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== text) throw this.error(t, `expected [${text}] but found [${t.text}]`);
    return this.next();
  }

  private error(t: ScriptToken, reason: string) {
    return compileError(this.source, t.start, reason);
  }

  private enter(t: ScriptToken): void {
    if (++this.depth > MAX_DEPTH) throw this.error(t, `the script nests deeper than ${MAX_DEPTH} levels`);
  }

  private identifier(): ScriptToken {
    const t = this.next();
    if (t.kind !== 'name' || RESERVED.has(t.text)) throw this.error(t, `expected a name but found [${t.text}]`);
    return t;
  }

  /** A declaration starts with a type name followed by a variable name. */
  private atDeclaration(): boolean {
    const t = this.peek();
    return t.kind === 'name' && TYPE_NAMES.has(t.text) && this.peek(1).kind === 'name' && !RESERVED.has(this.peek(1).text);
  }

  // ---- statements ----

  private statement(): Stmt {
    const t = this.peek();
    this.enter(t);
    try {
      return this.statementInner(t);
    } finally {
      this.depth--;
    }
  }

  private statementInner(t: ScriptToken): Stmt {
    const pos = t.start;
    if (this.eat(';')) return { k: 'empty', pos };
    if (this.isOp('{')) return this.block();
    if (t.kind === 'name') {
      switch (t.text) {
        case 'if': {
          this.next();
          this.expect('(');
          const c = this.expression();
          this.expect(')');
          const then = this.statement();
          const otherwise = this.isWord('else') ? (this.next(), this.statement()) : undefined;
          return { k: 'if', pos, c, then, else: otherwise };
        }
        case 'while': {
          this.next();
          this.expect('(');
          const c = this.expression();
          this.expect(')');
          return { k: 'while', pos, c, body: this.statement() };
        }
        case 'do': {
          this.next();
          const body = this.statement();
          if (!this.isWord('while')) throw this.error(this.peek(), `expected [while] but found [${this.peek().text}]`);
          this.next();
          this.expect('(');
          const c = this.expression();
          this.expect(')');
          this.endStatement();
          return { k: 'do', pos, c, body };
        }
        case 'for':
          return this.forStatement(pos);
        case 'return': {
          this.next();
          const e = this.isOp(';') || this.isOp('}') || this.peek().kind === 'eof' ? undefined : this.expression();
          this.endStatement();
          return { k: 'return', pos, e };
        }
        case 'break':
        case 'continue':
          this.next();
          this.endStatement();
          return { k: t.text, pos };
        case 'else':
          throw this.error(t, 'unexpected [else] without an [if]');
      }
      if (this.atDeclaration()) {
        const s = this.declaration();
        this.endStatement();
        return s;
      }
    }
    const e = this.expression();
    this.endStatement();
    return { k: 'expr', pos, e };
  }

  /** `;` ends a statement; it may be left out before `}` and at the end of the script, as Painless allows. */
  private endStatement(): void {
    if (this.eat(';')) return;
    if (this.isOp('}') || this.peek().kind === 'eof') return;
    throw this.error(this.peek(), `expected [;] but found [${this.peek().text}]`);
  }

  private block(): Stmt {
    const pos = this.expect('{').start;
    const body: Stmt[] = [];
    while (!this.isOp('}')) {
      if (this.peek().kind === 'eof') throw this.error(this.peek(), 'expected [}] but found [<EOF>]');
      body.push(this.statement());
    }
    this.next();
    return { k: 'block', pos, body };
  }

  private declaration(): Stmt & { k: 'decl' } {
    const typeTok = this.next();
    const vars: { name: string; pos: number; init: Expr | undefined }[] = [];
    do {
      const name = this.identifier();
      const init = this.eat('=') ? this.expression() : undefined;
      vars.push({ name: name.text, pos: name.start, init });
    } while (this.eat(','));
    return { k: 'decl', pos: typeTok.start, type: typeTok.text, vars };
  }

  private forStatement(pos: number): Stmt {
    this.next();
    this.expect('(');
    // for (def x : list) / for (x in list)
    if (this.atDeclaration() && this.isOp(':', 2)) {
      const type = this.next().text;
      const name = this.identifier().text;
      this.expect(':');
      const iterable = this.expression();
      this.expect(')');
      return { k: 'foreach', pos, type, name, iterable, body: this.statement() };
    }
    if (this.peek().kind === 'name' && this.isWord('in', 1)) {
      const name = this.identifier().text;
      this.next();
      const iterable = this.expression();
      this.expect(')');
      return { k: 'foreach', pos, type: 'def', name, iterable, body: this.statement() };
    }
    let init: Stmt | undefined;
    if (!this.isOp(';')) {
      const at = this.peek().start;
      init = this.atDeclaration() ? this.declaration() : { k: 'expr', pos: at, e: this.expression() };
    }
    this.expect(';');
    const c = this.isOp(';') ? undefined : this.expression();
    this.expect(';');
    const step: Expr[] = [];
    if (!this.isOp(')')) {
      do step.push(this.expression());
      while (this.eat(','));
    }
    this.expect(')');
    return { k: 'for', pos, init, c, step, body: this.statement() };
  }

  // ---- expressions ----

  expression(): Expr {
    const t = this.peek();
    this.enter(t);
    try {
      return this.assignment();
    } finally {
      this.depth--;
    }
  }

  private assignment(): Expr {
    const left = this.conditional();
    const t = this.peek();
    if (t.kind === 'op' && ASSIGN_OPS.has(t.text)) {
      if (left.k !== 'name' && left.k !== 'member' && left.k !== 'index') throw this.error(t, `cannot assign a value to this expression`);
      if (left.k === 'member' && left.safe) throw this.error(t, 'cannot assign through a null-safe [?.] access');
      this.next();
      return { k: 'assign', pos: t.start, op: t.text, target: left, value: this.expression() };
    }
    return left;
  }

  private conditional(): Expr {
    const c = this.elvis();
    if (!this.isOp('?')) return c;
    const pos = this.next().start;
    const t = this.expression();
    this.expect(':');
    const f = this.expression();
    return { k: 'cond', pos, c, t, f };
  }

  private elvis(): Expr {
    let l = this.logical(0);
    while (this.isOp('?:')) {
      const pos = this.next().start;
      l = { k: 'elvis', pos, l, r: this.logical(0) };
    }
    return l;
  }

  private logical(level: 0 | 1): Expr {
    const op = level === 0 ? '||' : '&&';
    let l = level === 0 ? this.logical(1) : this.binary(0);
    while (this.isOp(op)) {
      const pos = this.next().start;
      const r = level === 0 ? this.logical(1) : this.binary(0);
      l = { k: 'logical', pos, op, l, r };
    }
    return l;
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    const ops = BINARY_LEVELS[level]!;
    let l = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && ['&', '|', '^', '<<', '>>', '>>>'].includes(t.text) && level === 0) throw this.error(t, `the operator [${t.text}] is not supported`);
      if (t.kind !== 'op' || !ops.includes(t.text)) return l;
      this.next();
      l = { k: 'binary', pos: t.start, op: t.text, l, r: this.binary(level + 1) };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '!')) {
      this.next();
      this.enter(t);
      try {
        const e = this.unary();
        // A negative literal is a literal (so -2147483648 and the like need no arithmetic).
        if (t.text === '-' && e.k === 'num') return { k: 'num', pos: t.start, v: -e.v };
        return { k: 'unary', pos: t.start, op: t.text, e };
      } finally {
        this.depth--;
      }
    }
    if (t.kind === 'op' && (t.text === '++' || t.text === '--')) {
      this.next();
      const target = this.unary();
      this.assignable(target, t);
      return { k: 'update', pos: t.start, op: t.text, prefix: true, target };
    }
    if (t.kind === 'op' && t.text === '~') throw this.error(t, 'the operator [~] is not supported');
    // A cast: `(int) x`.
    if (this.isOp('(') && this.peek(1).kind === 'name' && TYPE_NAMES.has(this.peek(1).text) && this.isOp(')', 2)) {
      this.next();
      const type = this.next().text;
      this.next();
      return { k: 'cast', pos: t.start, type, e: this.unary() };
    }
    return this.postfix();
  }

  private assignable(target: Expr, t: ScriptToken): void {
    if (target.k !== 'name' && target.k !== 'member' && target.k !== 'index') throw this.error(t, `[${t.text}] needs a variable, a field or an element`);
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') return e;
      if (t.text === '.' || t.text === '?.') {
        this.next();
        const name = this.identifierOrKeyword();
        const safe = t.text === '?.';
        if (this.isOp('(')) e = { k: 'call', pos: name.start, obj: e, name: name.text, args: this.args(), safe };
        else e = { k: 'member', pos: name.start, obj: e, name: name.text, safe };
      } else if (t.text === '[') {
        this.next();
        const key = this.expression();
        this.expect(']');
        e = { k: 'index', pos: t.start, obj: e, key };
      } else if (t.text === '++' || t.text === '--') {
        this.next();
        this.assignable(e, t);
        e = { k: 'update', pos: t.start, op: t.text, prefix: false, target: e };
      } else return e;
    }
  }

  /** After a dot any name goes (`.empty`, `.value`, and keywords such as `.in` are not keywords there). */
  private identifierOrKeyword(): ScriptToken {
    const t = this.next();
    if (t.kind !== 'name') throw this.error(t, `expected a name after [.] but found [${t.text}]`);
    return t;
  }

  private args(): Expr[] {
    this.expect('(');
    const args: Expr[] = [];
    if (this.eat(')')) return args;
    do args.push(this.expression());
    while (this.eat(','));
    this.expect(')');
    return args;
  }

  private primary(): Expr {
    const t = this.next();
    const pos = t.start;
    switch (t.kind) {
      case 'num':
        return { k: 'num', pos, v: t.num };
      case 'str':
        return { k: 'str', pos, v: t.text };
      case 'name':
        if (t.text === 'true' || t.text === 'false') return { k: 'bool', pos, v: t.text === 'true' };
        if (t.text === 'null') return { k: 'null', pos };
        if (t.text === 'new') throw this.error(t, '[new] is not supported: use list literals [1, 2] and map literals [:] or [\'a\': 1]');
        if (RESERVED.has(t.text)) throw this.error(t, `unexpected [${t.text}]`);
        return { k: 'name', pos, name: t.text };
      case 'op':
        if (t.text === '(') {
          const e = this.expression();
          this.expect(')');
          return e;
        }
        if (t.text === '[') return this.collection(pos);
        throw this.error(t, `unexpected [${t.text}]`);
      case 'eof':
        throw this.error(t, 'unexpected end of script');
    }
  }

  /** `[]`, `[1, 2]`: a list; `[:]`, `['a': 1]`: a map. */
  private collection(pos: number): Expr {
    if (this.eat(']')) return { k: 'list', pos, items: [] };
    if (this.isOp(':') && this.isOp(']', 1)) {
      this.i += 2;
      return { k: 'map', pos, entries: [] };
    }
    const first = this.expression();
    if (this.eat(':')) {
      const entries: [Expr, Expr][] = [[first, this.expression()]];
      while (this.eat(',')) {
        const key = this.expression();
        this.expect(':');
        entries.push([key, this.expression()]);
      }
      this.expect(']');
      return { k: 'map', pos, entries };
    }
    const items = [first];
    while (this.eat(',')) items.push(this.expression());
    this.expect(']');
    return { k: 'list', pos, items };
  }
}
