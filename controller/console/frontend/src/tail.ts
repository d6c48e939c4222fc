// The live tail: the controller's WebSocket, resumed after a reconnect from
// the last sequence number seen, so no line is lost or shown twice while the
// logger's ring still holds it.
import { appPath } from "./api";
import { alertBox, download, h, showAlert } from "./dom";
import { LogLine, formatLine, lineNode, parseLine } from "./lines";

// Lines kept (and at most in the DOM), unless the page's ?max= says otherwise.
export const DEFAULT_MAX_LINES = 2000;
const INITIAL_LINES = 200;
// A resume asks for everything after the last line seen (the ring bounds it).
const RESUME_LINES = 10000;
const FLUSH_MS = 50;
const MAX_BACKOFF_S = 10;
// Close codes after which retrying cannot help (controller/api/logs.py).
const FINAL_CODES = new Set([4400, 4403, 4408]);

export function maxLinesFromUrl(): number {
  const wanted = Number(new URLSearchParams(location.search).get("max"));
  return Number.isInteger(wanted) && wanted >= 10 && wanted <= 50000 ? wanted : DEFAULT_MAX_LINES;
}

export class LiveTail {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly viewport: HTMLElement;
  private readonly status: HTMLElement;
  private readonly alert = alertBox();
  private readonly pauseButton: HTMLButtonElement;
  private readonly latestButton: HTMLButtonElement;
  private readonly procSelect: HTMLSelectElement;
  private readonly shown: HTMLElement;

  private model: LogLine[] = [];
  private pending: LogLine[] = [];
  private held: LogLine[] = [];
  private heldCount = 0;
  private lastSeq: number | null = null;
  private paused = false;
  private following = true;
  private procFilter = "";
  private highlight = "";
  private readonly procs = new Set<string>();
  private socket: WebSocket | null = null;
  private openedAt = 0;
  private failures = 0;
  private connections = 0;
  private flushTimer: number | null = null;
  private highlightTimer: number | null = null;

  constructor(
    private readonly app: string,
    private readonly maxLines: number,
  ) {
    this.list = h("ol", { class: "lines", id: "tail-lines" });
    this.viewport = h(
      "div",
      { class: "viewport", tabindex: 0, role: "log", "aria-label": `Log lines of ${app}` },
      this.list,
    );
    this.status = h("p", { class: "status", id: "tail-status", role: "status" }, "Connecting…");
    this.pauseButton = h("button", { type: "button", id: "pause", "aria-pressed": "false" }, "Pause");
    this.latestButton = h("button", { type: "button", id: "latest", hidden: true }, "Jump to latest");
    this.procSelect = h("select", { id: "tail-proc" }, h("option", { value: "" }, "All processes"));
    const highlight = h("input", { id: "tail-highlight", type: "search", autocomplete: "off" });
    const downloadButton = h("button", { type: "button", id: "tail-download" }, "Download shown");
    this.shown = h("span", { class: "shown", id: "tail-shown" });
    this.element = h(
      "section",
      { class: "tail", "aria-labelledby": "tail-title" },
      h("h2", { id: "tail-title" }, "Live tail"),
      h(
        "div",
        { class: "toolbar" },
        this.pauseButton,
        h("label", { for: "tail-proc" }, "Process "),
        this.procSelect,
        h("label", { for: "tail-highlight" }, "Highlight "),
        highlight,
        downloadButton,
        this.latestButton,
        this.shown,
      ),
      this.status,
      this.alert,
      this.viewport,
    );
    this.pauseButton.addEventListener("click", () => this.setPaused(!this.paused));
    this.latestButton.addEventListener("click", () => {
      this.following = true;
      this.scrollToBottom();
    });
    this.procSelect.addEventListener("change", () => {
      this.procFilter = this.procSelect.value;
      this.renderAll();
    });
    highlight.addEventListener("input", () => {
      if (this.highlightTimer !== null) clearTimeout(this.highlightTimer);
      this.highlightTimer = window.setTimeout(() => {
        this.highlight = highlight.value;
        this.renderAll();
      }, 150);
    });
    downloadButton.addEventListener("click", () =>
      download(`${this.app}-tail.txt`, this.visible(this.model).map(formatLine).join("\n") + "\n"),
    );
    this.viewport.addEventListener("scroll", () => {
      const bottom = this.viewport.scrollHeight - this.viewport.clientHeight;
      this.following = this.viewport.scrollTop >= bottom - 4;
      this.latestButton.hidden = this.following;
    });
  }

  start(): void {
    this.connect();
    window.addEventListener("pagehide", () => this.stop());
  }

  stop(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "page closed");
  }

  private connect(): void {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${appPath(this.app, "/logs")}`);
    this.socket = socket;
    this.connections += 1;
    this.element.dataset.connections = String(this.connections);
    socket.addEventListener("open", () => {
      this.openedAt = Date.now();
      const resume = this.lastSeq !== null;
      socket.send(
        JSON.stringify({
          lines: resume ? RESUME_LINES : INITIAL_LINES,
          follow: true,
          format: "json",
          ...(resume ? { after_seq: this.lastSeq } : {}),
        }),
      );
      showAlert(this.alert, null);
      this.updateStatus();
    });
    socket.addEventListener("message", (event: MessageEvent<string>) => {
      const line = parseLine(event.data);
      if (line) this.receive(line);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return; // stopped, or replaced
      this.socket = null;
      if (FINAL_CODES.has(event.code)) {
        showAlert(this.alert, `The live tail stopped: ${event.reason || event.code}`);
        this.setState("stopped", "Stopped");
        return;
      }
      // The logger ends each follow at its timeout (1000): resume at once.
      const clean = event.code === 1000 && Date.now() - this.openedAt > 1000;
      this.failures = clean ? 0 : this.failures + 1;
      const delay = clean ? 0 : Math.min(MAX_BACKOFF_S, 2 ** (this.failures - 1));
      if (delay > 0) this.setState("reconnecting", `Disconnected: reconnecting in ${delay} s…`);
      window.setTimeout(() => this.connect(), delay * 1000);
    });
  }

  private receive(line: LogLine): void {
    if (line.seq !== null && this.lastSeq !== null) {
      if (line.seq <= this.lastSeq) return; // already shown
      const missed = line.seq - this.lastSeq - 1;
      if (missed > 0) this.accept(this.notice(`${missed} lines were gone from the ring before they could be shown`));
    }
    if (line.seq !== null) {
      this.lastSeq = line.seq;
      this.element.dataset.lastSeq = String(line.seq);
    }
    this.accept(line);
  }

  private notice(message: string): LogLine {
    const time = new Date().toISOString();
    return { seq: null, time, app: this.app, proc: "console", instance: "", stream: "", message };
  }

  private accept(line: LogLine): void {
    if (!this.procs.has(line.proc)) {
      this.procs.add(line.proc);
      this.addProcOption(line.proc);
    }
    if (this.paused) {
      this.heldCount += 1;
      this.held.push(line);
      if (this.held.length > this.maxLines * 1.25) this.held.splice(0, this.held.length - this.maxLines);
      this.updateStatus();
      return;
    }
    this.pending.push(line);
    if (this.flushTimer === null) this.flushTimer = window.setTimeout(() => this.flush(), FLUSH_MS);
  }

  private addProcOption(proc: string): void {
    const options = Array.from(this.procSelect.options).slice(1);
    const next = options.find((option) => option.value > proc) ?? null;
    this.procSelect.insertBefore(h("option", { value: proc }, proc), next);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauseButton.textContent = paused ? "Resume" : "Pause";
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      const held = this.held;
      const kept = held.length;
      const lost = this.heldCount - kept;
      this.held = [];
      this.heldCount = 0;
      if (lost > 0) this.pending.push(this.notice(`${lost} held lines are not kept: only the newest ${kept}`));
      this.pending.push(...held);
      this.flush();
    }
    this.updateStatus();
  }

  private visible(lines: LogLine[]): LogLine[] {
    const proc = this.procFilter;
    return proc ? lines.filter((line) => line.proc === proc) : lines;
  }

  private flush(): void {
    this.flushTimer = null;
    const fresh = this.pending;
    this.pending = [];
    if (fresh.length === 0) return;
    this.model.push(...fresh);
    if (this.model.length > this.maxLines * 1.25) this.model.splice(0, this.model.length - this.maxLines);
    const fragment = document.createDocumentFragment();
    for (const line of this.visible(fresh).slice(-this.maxLines)) {
      fragment.append(lineNode(line, this.highlight));
    }
    this.list.append(fragment);
    this.trim();
    this.updateStatus();
  }

  private renderAll(): void {
    const fragment = document.createDocumentFragment();
    for (const line of this.visible(this.model).slice(-this.maxLines)) {
      fragment.append(lineNode(line, this.highlight));
    }
    this.list.replaceChildren(fragment);
    this.updateStatus();
  }

  /** At most maxLines rows in the DOM, so a fast app cannot freeze the tab. */
  private trim(): void {
    const excess = this.list.childElementCount - this.maxLines;
    if (excess > 0) {
      const range = document.createRange();
      range.setStartBefore(this.list.firstElementChild as Element);
      range.setEndAfter(this.list.children[excess - 1] as Element);
      range.deleteContents();
    }
    if (this.following) this.scrollToBottom();
  }

  private scrollToBottom(): void {
    this.viewport.scrollTop = this.viewport.scrollHeight;
    this.latestButton.hidden = true;
  }

  private setState(state: string, text: string): void {
    this.element.dataset.state = state;
    this.status.textContent = text;
  }

  private updateStatus(): void {
    this.shown.textContent = `${this.list.childElementCount} lines shown`;
    if (this.socket === null || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.paused) {
      this.element.dataset.held = String(this.heldCount);
      this.setState("paused", `Paused: ${this.heldCount} lines held`);
    } else {
      this.element.dataset.held = "0";
      this.setState("live", "Live");
    }
  }
}
