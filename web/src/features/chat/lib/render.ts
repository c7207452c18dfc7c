/**
 * One markdown block to safe HTML. marked parses; raw HTML from the model is
 * shown as text, links keep only http(s)/mailto, images become links (no
 * third-party fetches from a model's answer). highlight.js (core plus the
 * languages actually met) and KaTeX load lazily: until they arrive a block
 * renders plain and reports `pending`, and is rendered again once they are in.
 * Results are memoised by text, so a finished block is parsed once.
 */
import { Marked, type Tokens } from "marked";
import { extractMath, MATH_TOKEN_RE } from "./blocks";

type HighlightJs = typeof import("highlight.js/lib/core").default;
type Katex = typeof import("katex").default;

let hljs: HighlightJs | null = null;
let katex: Katex | null = null;
const languages = new Set<string>();
const failedLanguages = new Set<string>();
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

/** Language aliases met in answers -> highlight.js module names. */
const ALIASES: Record<string, string> = {
  js: "javascript",
  jsx: "javascript",
  ts: "typescript",
  tsx: "typescript",
  py: "python",
  sh: "bash",
  shell: "bash",
  zsh: "bash",
  console: "bash",
  yml: "yaml",
  html: "xml",
  svg: "xml",
  rs: "rust",
  golang: "go",
  "c++": "cpp",
  cs: "csharp",
  "c#": "csharp",
  kt: "kotlin",
  rb: "ruby",
  md: "markdown",
  ps1: "powershell",
  dockerfile: "dockerfile",
  docker: "dockerfile",
  text: "plaintext",
  txt: "plaintext",
};

export const langName = (lang: string): string => {
  const l = lang.trim().toLowerCase().split(/\s+/)[0] ?? "";
  return ALIASES[l] ?? l;
};

const LANG_RE = /^[a-z0-9_+#-]{1,30}$/;

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const SAFE_URL = /^(https?:|mailto:|\/|#)/i;

interface RenderState {
  pending: boolean;
  langs: Set<string>;
}
let current: RenderState = { pending: false, langs: new Set() };

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }: Tokens.Link) {
      const inner = this.parser.parseInline(tokens);
      if (!SAFE_URL.test(href)) return inner;
      const t = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(href)}"${t} target="_blank" rel="noopener noreferrer nofollow">${inner}</a>`;
    },
    image({ href, text }: Tokens.Image) {
      if (!SAFE_URL.test(href)) return escapeHtml(text);
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer nofollow">${escapeHtml(text || href)}</a>`;
    },
    code({ text, lang }: Tokens.Code) {
      const name = langName(lang ?? "");
      let body = escapeHtml(text);
      if (name && LANG_RE.test(name) && name !== "plaintext") {
        if (hljs && languages.has(name)) {
          body = hljs.highlight(text, { language: name, ignoreIllegals: true }).value;
        } else if (!failedLanguages.has(name)) {
          current.pending = true;
          current.langs.add(name);
        }
      }
      const label = name ? escapeHtml(name) : "text";
      return (
        `<div class="code-block"><div class="code-head"><span class="code-lang">${label}</span>` +
        `<button type="button" class="code-copy" data-copy aria-label="Copy code">Copy</button></div>` +
        `<pre tabindex="0" aria-label="${label} code"><code class="hljs language-${label}">${body}</code></pre></div>`
      );
    },
  },
});

export interface Rendered {
  html: string;
  /** Highlighting or math still to load: render again when `onAssetsLoaded` fires. */
  pending: boolean;
  langs: string[];
  math: boolean;
}

const cache = new Map<string, Rendered>();
const CACHE_MAX = 4000;

function renderMath(html: string, math: { tex: string; display: boolean }[]): string {
  return html.replace(MATH_TOKEN_RE, (_, n: string) => {
    const span = math[Number(n)];
    if (!span) return "";
    if (!katex) {
      current.pending = true;
      const d = span.display ? "$$" : "$";
      return `<span class="math-pending">${escapeHtml(d + span.tex + d)}</span>`;
    }
    return katex.renderToString(span.tex, {
      displayMode: span.display,
      throwOnError: false,
      output: "htmlAndMathml",
      trust: false,
      strict: "ignore",
    });
  });
}

/** The HTML of one block (memoised while nothing it waits for has loaded). */
export function renderBlock(text: string): Rendered {
  const hit = cache.get(text);
  if (hit && !hit.pending) return hit;
  if (hit?.pending && !assetsReady(hit)) return hit;
  current = { pending: false, langs: new Set() };
  const { text: md, math } = extractMath(text);
  let html = marked.parse(md, { async: false }) as string;
  if (math.length) html = renderMath(html, math);
  const out: Rendered = {
    html,
    pending: current.pending,
    langs: [...current.langs],
    math: math.length > 0,
  };
  if (cache.size >= CACHE_MAX) {
    const first = cache.keys().next().value;
    if (first !== undefined) cache.delete(first);
  }
  cache.set(text, out);
  return out;
}

function assetsReady(r: Rendered): boolean {
  if (r.math && !katex) return false;
  return r.langs.every((l) => (hljs && languages.has(l)) || failedLanguages.has(l));
}

/** Loads what a pending render waits for; listeners are told when it is in. */
export function loadAssets(r: Rendered): Promise<void> {
  if (!r.pending || assetsReady(r)) return Promise.resolve();
  const job = (async () => {
    if (loading) await loading.catch(() => undefined);
    const tasks: Promise<unknown>[] = [];
    if (r.math && !katex) {
      tasks.push(
        Promise.all([import("katex"), import("katex/dist/katex.min.css")]).then(([m]) => {
          katex = m.default;
        }),
      );
    }
    const langs = r.langs.filter((l) => !languages.has(l) && !failedLanguages.has(l));
    if (langs.length) {
      if (!hljs) hljs = (await import("highlight.js/lib/core")).default;
      for (const l of langs) {
        tasks.push(
          loadLanguage(l).then(
            (mod) => {
              hljs?.registerLanguage(l, mod);
              languages.add(l);
            },
            () => failedLanguages.add(l),
          ),
        );
      }
    }
    await Promise.all(tasks);
    for (const fn of listeners) fn();
  })();
  loading = job;
  return job;
}

type LanguageFn = Parameters<HighlightJs["registerLanguage"]>[1];

/** The languages offered, each its own chunk fetched when first met. */
const LANGUAGES: Record<string, () => Promise<{ default: LanguageFn }>> = {
  bash: () => import("highlight.js/lib/languages/bash"),
  c: () => import("highlight.js/lib/languages/c"),
  cpp: () => import("highlight.js/lib/languages/cpp"),
  csharp: () => import("highlight.js/lib/languages/csharp"),
  css: () => import("highlight.js/lib/languages/css"),
  diff: () => import("highlight.js/lib/languages/diff"),
  dockerfile: () => import("highlight.js/lib/languages/dockerfile"),
  go: () => import("highlight.js/lib/languages/go"),
  graphql: () => import("highlight.js/lib/languages/graphql"),
  ini: () => import("highlight.js/lib/languages/ini"),
  java: () => import("highlight.js/lib/languages/java"),
  javascript: () => import("highlight.js/lib/languages/javascript"),
  json: () => import("highlight.js/lib/languages/json"),
  kotlin: () => import("highlight.js/lib/languages/kotlin"),
  lua: () => import("highlight.js/lib/languages/lua"),
  makefile: () => import("highlight.js/lib/languages/makefile"),
  markdown: () => import("highlight.js/lib/languages/markdown"),
  perl: () => import("highlight.js/lib/languages/perl"),
  php: () => import("highlight.js/lib/languages/php"),
  plaintext: () => import("highlight.js/lib/languages/plaintext"),
  powershell: () => import("highlight.js/lib/languages/powershell"),
  python: () => import("highlight.js/lib/languages/python"),
  r: () => import("highlight.js/lib/languages/r"),
  ruby: () => import("highlight.js/lib/languages/ruby"),
  rust: () => import("highlight.js/lib/languages/rust"),
  scala: () => import("highlight.js/lib/languages/scala"),
  scss: () => import("highlight.js/lib/languages/scss"),
  shell: () => import("highlight.js/lib/languages/shell"),
  sql: () => import("highlight.js/lib/languages/sql"),
  swift: () => import("highlight.js/lib/languages/swift"),
  typescript: () => import("highlight.js/lib/languages/typescript"),
  xml: () => import("highlight.js/lib/languages/xml"),
  yaml: () => import("highlight.js/lib/languages/yaml"),
  haskell: () => import("highlight.js/lib/languages/haskell"),
  elixir: () => import("highlight.js/lib/languages/elixir"),
  erlang: () => import("highlight.js/lib/languages/erlang"),
  dart: () => import("highlight.js/lib/languages/dart"),
  nginx: () => import("highlight.js/lib/languages/nginx"),
  protobuf: () => import("highlight.js/lib/languages/protobuf"),
  latex: () => import("highlight.js/lib/languages/latex"),
};

async function loadLanguage(name: string): Promise<LanguageFn> {
  const load = LANGUAGES[name];
  if (!load) throw new Error(`no highlighter for ${name}`);
  return (await load()).default;
}

/** Subscribe to "assets loaded" (re-render pending blocks). */
export function onAssetsLoaded(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Test hook: forget memoised renders. */
export function clearRenderCache(): void {
  cache.clear();
}
