/**
 * What a screen reader hears of a streaming answer: whole sentences as they
 * complete (at most one announcement per `minGapMs`), then the rest when the
 * answer is done; never every token. Markdown syntax is stripped.
 */

const SENTENCE_END = /[.!?…。！？](?=\s|$)|\n\n/g;

export function plainText(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?(```|$)/g, " code block ")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^#{1,6}\s+/gm, "")
    .replace(/[*_~>#|]+/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

export class SentenceAnnouncer {
  private said = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly say: (text: string) => void,
    private readonly minGapMs = 1500,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The answer so far; announces complete sentences not yet said. */
  update(text: string): void {
    if (this.now() - this.lastAt < this.minGapMs) return;
    let end = -1;
    for (const m of text.slice(this.said).matchAll(SENTENCE_END)) {
      end = this.said + m.index + m[0].length;
    }
    if (end <= this.said) return;
    const chunk = plainText(text.slice(this.said, end));
    this.said = end;
    if (chunk) {
      this.lastAt = this.now();
      this.say(chunk);
    }
  }

  /** The answer ended: announce what is left (and the status when not complete). */
  finish(text: string, status = "complete"): void {
    const rest = plainText(text.slice(this.said));
    this.said = text.length;
    const note = status === "complete" ? "" : ` (answer ${status})`;
    if (rest || note) this.say(`${rest}${note}`.trim());
  }

  reset(): void {
    this.said = 0;
    this.lastAt = Number.NEGATIVE_INFINITY;
  }
}
