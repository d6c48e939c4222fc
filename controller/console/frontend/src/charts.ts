// Charts of an app's log rates (the logger's own per-app counters, so they
// work with no VictoriaMetrics), and CPU and memory when VictoriaMetrics is set.
import uPlot from "uplot";

import { ApiError, appPath, getJson } from "./api";
import { alertBox, h, showAlert } from "./dom";

interface Rates {
  interval: number;
  times: number[];
  procs: Record<string, number[]>;
  streams: Record<string, number[]>;
  levels: Record<string, number[]>;
}

interface Usage {
  usage: { cpus: Record<string, number[][]>; memory: Record<string, number[][]> };
}

// The same hues as the tail's process colours (4.5:1 or more on white).
const COLOURS = ["#1b5e20", "#0d47a1", "#b71c1c", "#4a148c", "#bf360c", "#006064", "#4e342e", "#880e4f"];
const USAGE_EVERY_MS = 30000;

class Chart {
  readonly element: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly table: HTMLTableSectionElement;
  private plot: uPlot | null = null;
  private names: string[] = [];

  constructor(
    readonly id: string,
    title: string,
    private readonly unit: string,
  ) {
    this.plotBox = h("div", { class: "plot", "aria-hidden": "true" });
    this.table = h("tbody");
    this.element = h(
      "figure",
      { class: "chart", id },
      h("figcaption", {}, title),
      this.plotBox,
      h(
        "table",
        { class: "latest" },
        h("caption", {}, `${title}: latest values`),
        h("thead", {}, h(
          "tr",
          {},
          h("th", { scope: "col" }, "Series"),
          h("th", { scope: "col" }, "Latest"),
          h("th", { scope: "col" }, "Peak"),
        )),
        this.table,
      ),
    );
  }

  update(times: number[], series: Record<string, number[]>): void {
    const names = Object.keys(series).sort();
    const data: uPlot.AlignedData = [times, ...names.map((name) => series[name])];
    if (this.plot === null || names.join("\n") !== this.names.join("\n")) {
      this.plot?.destroy();
      this.names = names;
      this.plot = new uPlot(
        {
          width: Math.max(320, Math.min(900, this.element.clientWidth || 640)),
          height: 180,
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          series: [
            {},
            ...names.map((name, index) => ({
              label: name,
              stroke: COLOURS[index % COLOURS.length],
              width: 2,
            })),
          ],
          axes: [{}, { label: this.unit }],
        },
        data,
        this.plotBox,
      );
    } else {
      this.plot.setData(data);
    }
    this.table.replaceChildren(
      ...(names.length
        ? names.map((name) => {
            const values = series[name];
            const latest = values.length ? values[values.length - 1] : 0;
            const peak = Math.max(0, ...values);
            return h(
              "tr",
              { "data-series": name },
              h("th", { scope: "row" }, name),
              h("td", { class: "now", "data-value": latest }, `${latest.toFixed(2)} ${this.unit}`),
              h("td", { class: "peak", "data-value": peak }, `${peak.toFixed(2)} ${this.unit}`),
            );
          })
        : [h("tr", {}, h("td", { colspan: 3 }, "No lines yet."))]),
    );
    this.element.dataset.points = String(times.length);
  }
}

/** Each timestamp's sum over the pods, scaled. */
function summed(byPod: Record<string, number[][]>, scale: number): Map<number, number> {
  const totals = new Map<number, number>();
  for (const points of Object.values(byPod)) {
    for (const [time, value] of points) totals.set(time, (totals.get(time) ?? 0) + value / scale);
  }
  return totals;
}

/** Series on one time axis (uPlot wants arrays of one length). */
function aligned(byProc: Map<string, Map<number, number>>): [number[], Record<string, number[]>] {
  const all = new Set<number>();
  for (const points of byProc.values()) for (const time of points.keys()) all.add(time);
  const times = [...all].sort((a, b) => a - b);
  const series: Record<string, number[]> = {};
  for (const [proc, points] of byProc) series[proc] = times.map((time) => points.get(time) ?? 0);
  return [times, series];
}

export function chartsPage(app: string): HTMLElement {
  const alert = alertBox();
  const usageNote = h("p", { id: "usage-note", class: "note", hidden: true });
  const procs = new Chart("chart-procs", "Lines per second by process", "lines/s");
  const streams = new Chart("chart-streams", "Lines per second by stream (stderr)", "lines/s");
  const levels = new Chart("chart-levels", "Lines per second by level (errors)", "lines/s");
  const cpu = new Chart("chart-cpu", "CPU by process", "cores");
  const memory = new Chart("chart-memory", "Memory by process", "MiB");
  const usage = h("div", { class: "charts", hidden: true }, cpu.element, memory.element);
  let usageChecked = 0;
  let procNames: string[] = [];

  const loadUsage = async (): Promise<void> => {
    usageChecked = Date.now();
    const cpus = new Map<string, Map<number, number>>();
    const mem = new Map<string, Map<number, number>>();
    try {
      for (const proc of procNames) {
        const status = await getJson<Usage>(appPath(app, `/metrics/${encodeURIComponent(proc)}/status`));
        cpus.set(proc, summed(status.usage.cpus, 1));
        mem.set(proc, summed(status.usage.memory, 1 << 20));
      }
      usage.hidden = false;
      usageNote.hidden = true;
      cpu.update(...aligned(cpus));
      memory.update(...aligned(mem));
    } catch (error) {
      usage.hidden = true;
      usageNote.hidden = false;
      usageNote.textContent =
        error instanceof ApiError && error.status === 503
          ? `CPU and memory charts need VictoriaMetrics: ${error.message}`
          : `CPU and memory are not available: ${error instanceof Error ? error.message : error}`;
    }
  };

  const load = async (): Promise<void> => {
    let interval = 5;
    try {
      const rates = await getJson<Rates>(appPath(app, "/logs/rates"));
      interval = rates.interval;
      showAlert(alert, null);
      procs.update(rates.times, rates.procs);
      streams.update(rates.times, rates.streams);
      levels.update(rates.times, rates.levels);
      procNames = Object.keys(rates.procs).filter((name) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name));
      if (procNames.length && Date.now() - usageChecked > USAGE_EVERY_MS) await loadUsage();
    } catch (error) {
      showAlert(alert, `Log rates are not available: ${error instanceof Error ? error.message : error}`);
    }
    window.setTimeout(load, Math.max(1, Math.min(interval, 10)) * 1000);
  };
  void load();
  return h(
    "section",
    { "aria-labelledby": "charts-title" },
    h("h2", { id: "charts-title" }, "Charts"),
    h("p", { class: "note" }, "From the logger's own counters of this app's lines, updated live."),
    alert,
    h("div", { class: "charts" }, procs.element, streams.element, levels.element),
    usageNote,
    usage,
  );
}
