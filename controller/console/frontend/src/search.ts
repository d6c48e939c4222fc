// History search: GET /v2/apps/{id}/logs with since, until, query and proc
// (the history API's parameters) and format=json, results paged here.
import { ApiError, appPath, request } from "./api";
import { alertBox, download, h, showAlert } from "./dom";
import { LogLine, formatLine, lineNode, parseNdjson } from "./lines";

export const PAGE_LINES = 100;
// The controller's bound on log_lines.
const MAX_RESULTS = 10000;
const RELATIVE = /^(\d+)\s*([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

export interface SearchParams {
  since: string;
  until: string;
  query: string;
  proc: string;
}

/** `2h` (that long ago) or an RFC 3339 time, as RFC 3339; empty stays empty. */
export function absoluteTime(value: string, now = Date.now()): string {
  const text = value.trim();
  const relative = RELATIVE.exec(text);
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2]]).toISOString();
  return text;
}

export function searchPath(app: string, params: SearchParams): string {
  const query = new URLSearchParams({ log_lines: String(MAX_RESULTS), format: "json" });
  const since = absoluteTime(params.since);
  const until = absoluteTime(params.until);
  if (since) query.set("since", since);
  if (until) query.set("until", until);
  if (params.query.trim()) query.set("query", params.query.trim());
  if (params.proc.trim()) query.set("proc", params.proc.trim());
  return `${appPath(app, "/logs")}?${query}`;
}

function field(id: string, label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  input.id = id;
  input.name = id;
  const hintId = `${id}-hint`;
  if (hint) input.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: hintId }, hint) : null,
  );
}

export function searchPage(app: string): HTMLElement {
  const since = h("input", { type: "text", value: "1h", autocomplete: "off" });
  const until = h("input", { type: "text", autocomplete: "off" });
  const query = h("input", { type: "search", autocomplete: "off" });
  const proc = h("input", { type: "text", autocomplete: "off" });
  const filter = h("input", { type: "search", autocomplete: "off" });
  const alert = alertBox();
  const summary = h("p", { id: "search-summary", role: "status" });
  const list = h("ol", { class: "lines", id: "search-lines" });
  const older = h("button", { type: "button", id: "search-older", disabled: true }, "Older");
  const newer = h("button", { type: "button", id: "search-newer", disabled: true }, "Newer");
  const save = h("button", { type: "button", id: "search-download", disabled: true }, "Download results");
  const form = h(
    "form",
    { class: "search", id: "search-form", "aria-label": "Search the app's log history" },
    field("search-since", "From", since, "2h, 30m, 1d ago, or an RFC 3339 time"),
    field("search-until", "Until", until, "empty: now"),
    field("search-query", "Query", query, "history query, e.g. status:500 AND web"),
    field("search-proc", "Process", proc, "e.g. web or web.x2x9z"),
    field("search-filter", "Filter results", filter, "text the shown lines contain"),
    h("button", { type: "submit", id: "search-submit" }, "Search"),
  );
  let results: LogLine[] = [];
  let page = 0;

  const matching = (): LogLine[] => {
    const text = filter.value.trim().toLowerCase();
    return text ? results.filter((line) => formatLine(line).toLowerCase().includes(text)) : results;
  };
  const render = (): void => {
    const lines = matching();
    const pages = Math.max(1, Math.ceil(lines.length / PAGE_LINES));
    page = Math.min(page, pages - 1);
    // Page 0 is the newest; each page is in time order.
    const end = lines.length - page * PAGE_LINES;
    const shown = lines.slice(Math.max(0, end - PAGE_LINES), end);
    list.replaceChildren(...shown.map((line) => lineNode(line, filter.value.trim())));
    summary.textContent = lines.length
      ? `${lines.length} lines${results.length >= MAX_RESULTS ? " (the newest " + MAX_RESULTS + ": narrow the search)" : ""}, page ${page + 1} of ${pages}`
      : "No lines match.";
    older.disabled = page >= pages - 1;
    newer.disabled = page === 0;
    save.disabled = lines.length === 0;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(alert, null);
    summary.textContent = "Searching…";
    try {
      const reply = await request(
        searchPath(app, { since: since.value, until: until.value, query: query.value, proc: proc.value }),
      );
      results = reply.status === 204 ? [] : parseNdjson(await reply.text());
      page = 0;
      render();
    } catch (error) {
      results = [];
      list.replaceChildren();
      summary.textContent = "";
      const message = error instanceof Error ? error.message : String(error);
      const unavailable = error instanceof ApiError && (error.status === 501 || error.status === 503);
      showAlert(alert, unavailable ? `History is not available: ${message}` : `Search failed: ${message}`);
    }
  });
  filter.addEventListener("input", () => {
    page = 0;
    render();
  });
  older.addEventListener("click", () => {
    page += 1;
    render();
  });
  newer.addEventListener("click", () => {
    page -= 1;
    render();
  });
  save.addEventListener("click", () =>
    download(`${app}-search.txt`, matching().map(formatLine).join("\n") + "\n"),
  );
  return h(
    "section",
    { "aria-labelledby": "search-title" },
    h("h2", { id: "search-title" }, "Search history"),
    form,
    alert,
    h("div", { class: "toolbar" }, newer, older, save, summary),
    h("div", { class: "viewport" }, list),
  );
}
