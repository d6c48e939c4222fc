// Log lines as the API sends them with format=json, and how they are shown.
import { h } from "./dom";

export interface LogLine {
  seq: number | null;
  time: string;
  app: string;
  proc: string;
  instance: string;
  stream: string;
  message: string;
}

export function parseLine(raw: string): LogLine | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (!value || typeof value !== "object") return null;
    const line = value as Partial<LogLine>;
    if (typeof line.message !== "string" || typeof line.time !== "string") return null;
    return {
      seq: typeof line.seq === "number" ? line.seq : null,
      time: line.time,
      app: String(line.app ?? ""),
      proc: String(line.proc ?? ""),
      instance: String(line.instance ?? ""),
      stream: String(line.stream ?? ""),
      message: line.message,
    };
  } catch {
    return null;
  }
}

export function parseNdjson(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split("\n")) {
    if (!raw) continue;
    const line = parseLine(raw);
    if (line) out.push(line);
  }
  return out;
}

export function source(line: LogLine): string {
  return line.instance ? `${line.proc}.${line.instance}` : line.proc;
}

/** The line as `wf logs` prints it (the contract's form). */
export function formatLine(line: LogLine): string {
  return `${line.time} ${line.app}[${source(line)}]: ${line.message}`;
}

// Eight colours with at least 4.5:1 contrast on the white background.
const PALETTE = 8;

export function procColour(proc: string): string {
  let hash = 0;
  for (let i = 0; i < proc.length; i++) hash = (hash * 31 + proc.charCodeAt(i)) | 0;
  return `proc-${Math.abs(hash) % PALETTE}`;
}

/** The message with every occurrence of `highlight` in a <mark>. */
export function messageNode(message: string, highlight: string): HTMLElement {
  const span = h("span", { class: "msg" });
  if (!highlight) {
    span.textContent = message;
    return span;
  }
  const lower = message.toLowerCase();
  const wanted = highlight.toLowerCase();
  let at = 0;
  for (;;) {
    const found = lower.indexOf(wanted, at);
    if (found < 0) break;
    if (found > at) span.append(message.slice(at, found));
    span.append(h("mark", {}, message.slice(found, found + wanted.length)));
    at = found + wanted.length;
  }
  if (at < message.length) span.append(message.slice(at));
  return span;
}

export function lineNode(line: LogLine, highlight: string): HTMLElement {
  return h(
    "li",
    { class: line.stream === "stderr" ? "line stderr" : "line", "data-seq": line.seq ?? "" },
    h("time", { datetime: line.time }, line.time.slice(0, 26).replace("T", " ")),
    " ",
    h("span", { class: `src ${procColour(line.proc)}` }, `${line.app}[${source(line)}]:`),
    " ",
    messageNode(line.message, highlight),
  );
}
