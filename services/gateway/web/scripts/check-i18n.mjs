// Checks the web app's translations (run by tests/test_web_i18n.py; `node scripts/check-i18n.mjs`):
//
// 1. every locale in src/i18n has the same area files and keys as English, no empty message,
//    and the same ICU arguments ({name}, {count, plural, ...}) in each message;
// 2. every literal key passed to $t / t / translate exists in English;
// 3. no toLocaleString()/toLocaleDateString()/toLocaleTimeString() (the browser's locale, not
//    the app's: lib/i18n.ts's formatDate/formatNumber), and no user-visible English is left in the source: template text and the attributes a user
//    reads or hears (aria-label, title, placeholder, alt, label, ...) in .svelte files, and string
//    literals of two or more words in scripts (.ts and <script>), except what
//    scripts/i18n-allow.json lists with a reason (brand names, developer errors, ...).
//
// Prints one line per problem and exits 1 when there is any. Parsers: the Svelte compiler's
// `parse` for templates and TypeScript's for scripts (both dev dependencies already).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'svelte/compiler';
import ts from 'typescript';

const ROOT = new URL('..', import.meta.url).pathname;
const SRC = join(ROOT, 'src');
const I18N = join(SRC, 'i18n');
const allow = JSON.parse(readFileSync(join(ROOT, 'scripts/i18n-allow.json'), 'utf8'));
const allowed = new Set(Object.keys(allow.strings));
const problems = [];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function flatten(tree, prefix = '') {
  return Object.entries(tree).flatMap(([k, v]) =>
    v && typeof v === 'object' ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]],
  );
}

/** The argument names of an ICU message ({name}, {n, plural, ...}), sorted. */
function argumentsOf(message) {
  const names = new Set();
  let depth = 0;
  for (const m of message.matchAll(/[{}]|'[{}]'/g)) {
    if (m[0] === '{') {
      if (depth % 2 === 0) {
        const name = message.slice(m.index + 1).match(/^\s*([A-Za-z_][\w]*)/);
        if (name) names.add(name[1]);
      }
      depth++;
    } else if (m[0] === '}') depth--;
  }
  return [...names].sort().join(',');
}

// 1. locales against English
const locales = readdirSync(I18N).filter((d) => statSync(join(I18N, d)).isDirectory());
const english = new Map();
for (const file of readdirSync(join(I18N, 'en'))) {
  const area = file.replace(/\.json$/, '');
  for (const [k, v] of flatten(JSON.parse(readFileSync(join(I18N, 'en', file), 'utf8'))))
    english.set(`${area}.${k}`, v);
}
for (const code of locales.filter((c) => c !== 'en')) {
  const messages = new Map();
  for (const file of readdirSync(join(I18N, code))) {
    const area = file.replace(/\.json$/, '');
    for (const [k, v] of flatten(JSON.parse(readFileSync(join(I18N, code, file), 'utf8'))))
      messages.set(`${area}.${k}`, v);
  }
  for (const [key, en] of english) {
    const msg = messages.get(key);
    if (typeof msg !== 'string' || !msg.trim()) problems.push(`${code}: missing ${key}`);
    else if (argumentsOf(msg) !== argumentsOf(en))
      problems.push(`${code}: ${key} has arguments {${argumentsOf(msg)}}, English {${argumentsOf(en)}}`);
  }
  for (const key of messages.keys()) if (!english.has(key)) problems.push(`${code}: ${key} is not in English`);
}
for (const [key, v] of english) if (typeof v !== 'string' || !v.trim()) problems.push(`en: empty ${key}`);

// 2 and 3. the sources
const READ_ATTRIBUTES = new Set(['aria-label', 'aria-description', 'aria-roledescription', 'aria-valuetext',
  'title', 'placeholder', 'alt', 'label']);
const TRANSLATORS = new Set(['t', '$t', '_', '$_', 'translate']);
const SKIP_CALLS = /^(console\.\w+|new Error|Error|querySelector|querySelectorAll|matchMedia|setAttribute|getAttribute|addEventListener|removeEventListener)$/;
const WORDS = /[A-Za-z]{2,}[^A-Za-z{}]*\s[^A-Za-z{}]*[A-Za-z]{2,}/;

function textProblem(file, line, text) {
  const t = text.replace(/\s+/g, ' ').trim();
  if (!/[A-Za-z]{2,}/.test(t) || allowed.has(t)) return;
  problems.push(`${file}:${line}: untranslated "${t}"`);
}

function checkScript(file, code, lineOffset) {
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1 + lineOffset;
  function calleeName(call) {
    const e = call.expression;
    return ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? `${e.expression.getText()}.${e.name.text}`.replace(/^.*\.(\w+)$/, (m, n) => (/^console\./.test(e.getText()) ? e.getText() : n)) : '';
  }
  function visit(node, exempt) {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isTypeNode(node)) return;
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      if (TRANSLATORS.has(name)) {
        const key = node.arguments[0];
        if (key && ts.isStringLiteralLike(key) && !english.has(key.text))
          problems.push(`${file}:${lineOf(key)}: key "${key.text}" is not in English`);
        node.arguments.slice(1).forEach((a) => visit(a, exempt));
        return;
      }
      if (SKIP_CALLS.test(name)) exempt = true;
      if (/^toLocale(Date|Time)?String$/.test(name) && !file.endsWith('lib/i18n.ts'))
        problems.push(`${file}:${lineOf(node)}: ${name}() formats in the browser's locale, not the app's: use formatDate/formatNumber (lib/i18n.ts)`);
    }
    if (ts.isNewExpression(node) && node.expression.getText() === 'Error') exempt = true;
    if (!exempt && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) {
      if (WORDS.test(node.text) && !allowed.has(node.text.replace(/\s+/g, ' ').trim()) && !/^[\w.-]+$/.test(node.text))
        textProblem(file, lineOf(node), node.text);
    }
    if (!exempt && ts.isTemplateExpression(node)) {
      const parts = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('{}');
      if (WORDS.test(parts)) textProblem(file, lineOf(node), parts);
    }
    ts.forEachChild(node, (child) => visit(child, exempt));
  }
  visit(source, false);
}

function lineAt(code, index) {
  return code.slice(0, index).split('\n').length;
}

function checkTemplate(file, code, node) {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n) => checkTemplate(file, code, n));
  if (node.type === 'Text') return textProblem(file, lineAt(code, node.start), node.data);
  if ((node.type === 'Attribute' || node.type === 'StyleDirective') && Array.isArray(node.value)) {
    for (const part of node.value) {
      if (part.type === 'Text') {
        // a style value ("{x}px") is never read out; attributes only when a person reads them
        if (node.type === 'Attribute' && READ_ATTRIBUTES.has(node.name)) textProblem(file, lineAt(code, part.start), part.data);
      } else checkTemplate(file, code, part);
    }
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'metadata' || !v || typeof v !== 'object') continue;
    if (k === 'expression' && typeof v.start === 'number' && typeof v.end === 'number') {
      // an expression in the template: its string literals as a script's
      checkScript(file, `(${code.slice(v.start, v.end)})`, lineAt(code, v.start) - 1);
      continue;
    }
    checkTemplate(file, code, v);
  }
}

for (const path of walk(SRC)) {
  const file = relative(ROOT, path);
  if (path.startsWith(I18N)) continue;
  const code = readFileSync(path, 'utf8');
  if (path.endsWith('.ts')) checkScript(file, code, 0);
  if (!path.endsWith('.svelte')) continue;
  for (const m of code.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g))
    checkScript(file, m[1], lineAt(code, m.index + m[0].indexOf('>') + 1) - 1);
  const ast = parse(code, { modern: true });
  checkTemplate(file, code, ast.fragment);
}

for (const p of problems) console.log(p);
if (problems.length) {
  console.log(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`ok: ${english.size} messages in ${locales.length} locales`);
