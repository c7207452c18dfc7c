/**
 * Prompt templates, mirroring the server (aihub/prompts/templates.py):
 * `{name}` is a variable (letters, digits, underscore, any script), `{{` and
 * `}}` are literal braces, anything else in braces is plain text. The server
 * renders for real (POST /api/prompts/{id}/render); this drives the live form.
 */
const TOKEN = /\{\{|\}\}|\{([\p{L}\p{N}_]+)\}/gu;

/** Distinct variable names in order of first appearance. */
export function extractVariables(template: string): string[] {
  const seen = new Set<string>();
  for (const m of template.matchAll(TOKEN)) {
    if (m[1]) seen.add(m[1]);
  }
  return [...seen];
}

/** The filled text and the variables still missing (left as written). */
export function renderTemplate(
  template: string,
  values: Record<string, string>,
): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const text = template.replace(TOKEN, (token: string, name: string | undefined) => {
    if (!name) return token[0] ?? "";
    const v = values[name];
    if (v === undefined || v === "") {
      missing.add(name);
      return token;
    }
    return v;
  });
  return { text, missing: [...missing] };
}

/** A readable label from a variable name: "product_name" -> "Product name". */
export function variableLabel(name: string): string {
  const spaced = name.replace(/_+/g, " ").trim();
  return spaced ? spaced[0]?.toUpperCase() + spaced.slice(1) : name;
}
