// The console's entry point: one shell for every page, routed by its path.
import "uplot/dist/uPlot.min.css";
import "./style.css";

import { User, getJson, request } from "./api";
import { chartsPage } from "./charts";
import { h } from "./dom";
import { appsPage, collaboratorsPage, drainsPage, loginPage } from "./pages";
import { searchPage } from "./search";
import { LiveTail, maxLinesFromUrl } from "./tail";

const TABS: [string, string][] = [
  ["tail", "Live tail"],
  ["search", "Search"],
  ["charts", "Charts"],
  ["drains", "Drains"],
  ["collaborators", "Collaborators"],
];

function appNav(app: string, current: string): HTMLElement {
  return h(
    "nav",
    { "aria-label": `${app} pages` },
    h(
      "ul",
      { class: "tabs" },
      ...TABS.map(([page, label]) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: `/apps/${encodeURIComponent(app)}/${page}`, "aria-current": page === current ? "page" : undefined },
            label,
          ),
        ),
      ),
    ),
  );
}

async function appPage(app: string, page: string, me: User): Promise<HTMLElement[]> {
  const title = h("h1", {}, app);
  document.title = `${app}: ${page} - Workflow console`;
  const body = (): Promise<HTMLElement> | HTMLElement => {
    switch (page) {
      case "search":
        return searchPage(app);
      case "charts":
        return chartsPage(app);
      case "drains":
        return drainsPage(app);
      case "collaborators":
        return collaboratorsPage(app, me);
      default: {
        const tail = new LiveTail(app, maxLinesFromUrl());
        tail.start();
        return tail.element;
      }
    }
  };
  return [title, appNav(app, page), await body()];
}

async function main(): Promise<void> {
  const root = document.getElementById("main") as HTMLElement;
  const path = location.pathname;
  if (path === "/login") {
    root.replaceChildren(loginPage());
    (document.getElementById("username") as HTMLInputElement).focus();
    document.body.dataset.ready = "true";
    return;
  }
  const me = await getJson<User>("/v2/auth/whoami");
  (document.getElementById("whoami") as HTMLElement).textContent = `Signed in as ${me.username}`;
  const logout = document.getElementById("logout") as HTMLButtonElement;
  logout.hidden = false;
  logout.addEventListener("click", async () => {
    try {
      await request("/console/logout", { method: "POST" });
    } finally {
      location.assign("/login");
    }
  });
  const match = /^\/apps\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  try {
    if (match) root.replaceChildren(...(await appPage(decodeURIComponent(match[1]), match[2] ?? "tail", me)));
    else root.replaceChildren(await appsPage());
  } catch (error) {
    root.replaceChildren(h("p", { class: "alert", role: "alert" }, error instanceof Error ? error.message : String(error)));
  }
  document.body.dataset.ready = "true";
}

void main();
