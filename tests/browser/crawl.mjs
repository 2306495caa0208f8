// The crawl: every page a user can reach, as every demo user and the admin, on
// a desktop window in Chinese and on a tablet-sized window in English (each
// language and each window once per user: what the crawl checks, a page's
// answer, its errors and the server's log of missing translations, depends on
// the language, not on the pair). From the
// workbench it follows every module link and every tab, and from each of those
// pages the first links into records (a building, a unit, a customer, a
// contract, an approval, a user, a receipt, a job...). Any page answering 4xx
// or 5xx, any page or console error fails it; the test that runs it also reads
// the server's log for missing translations and template errors.
//
// Usage: node crawl.mjs <base-url> <admin-password> <demo-users-password>
import { chromium } from "playwright-core";

const [base, adminPassword, demoPassword] = process.argv.slice(2);
if (!base || !adminPassword || !demoPassword) {
  console.error("usage: node crawl.mjs <base-url> <admin-password> <demo-users-password>");
  process.exit(2);
}

const users = [
  ["admin", adminPassword],
  ...["wangfang", "liqiang", "zhangwei", "chenjing", "liuyang", "zhaomin", "sunli", "zhoujian", "huangmei"].map((u) => [u, demoPassword]),
];
const views = [
  ["desktop", { width: 1280, height: 860 }, "zh-CN"],
  ["tablet", { width: 820, height: 1180 }, "en"],
];
// Crawls running side by side: the server and Chromium share the machine's cores.
const PARALLEL = 2;
// Links into records followed from each page, and pages at most per crawl.
const RECORDS_PER_PAGE = 2;
const MAX_PAGES = 70;

// Not pages: downloads, documents, the API, signing out, and forms' targets.
const skip = /\/(logout|api)\b|export|download|\.xlsx|\.pdf|\/files\/|\/letter|\/print|\/photo|\/plan\b|\/site-plan\b/;

const browser = await chromium.launch({
  executablePath: process.env.LOUPAN_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

const problems = [];
const visitedPerUser = {};

// `/customers/0f3a…` and `/customers/9b1c…` are the same kind of page.
function shapeOf(path) {
  return path.replace(/[0-9a-f]{8,}|\d+/gi, ":id").replace(/\?.*$/, "");
}

async function crawl(username, password, windowName, viewport, lang) {
  const context = await browser.newContext({ viewport, locale: lang });
  await context.addCookies([{ name: "loupan_lang", value: lang, url: base }]);
  const page = await context.newPage();
  const where = () => `${username} ${windowName} ${lang} ${page.url()}`;
  page.on("pageerror", (e) => problems.push(`${where()}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      problems.push(`${where()}: console error: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    // Sub-resources (scripts, styles, images, live updates) must load too.
    if (r.status() >= 400 && r.request().resourceType() !== "document") {
      problems.push(`${where()}: ${r.status()} ${r.url()}`);
    }
  });

  await page.goto(`${base}/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login-submit");
  await page.waitForURL(`${base}/`);

  const seen = new Set();
  const shapes = new Set();
  const queue = ["/"];
  let visited = 0;
  while (queue.length > 0 && visited < MAX_PAGES) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    let response;
    try {
      response = await page.goto(`${base}${path}`, { waitUntil: "load" });
    } catch (e) {
      if (String(e).includes("Download is starting")) continue;
      problems.push(`${username} ${windowName} ${lang} ${path}: ${e.message}`);
      continue;
    }
    visited += 1;
    if (!response || response.status() >= 400) {
      problems.push(`${username} ${windowName} ${lang} ${path}: answered ${response?.status()}`);
      continue;
    }
    if (page.url().includes("/login")) {
      problems.push(`${username} ${windowName} ${lang} ${path}: signed out`);
      break;
    }
    const links = await page.$$eval("a[href^='/']", (as) =>
      as.map((a) => ({ href: a.getAttribute("href"), nav: !!a.closest("nav") })),
    );
    let records = 0;
    for (const { href, nav } of links) {
      const target = href.split("#")[0];
      if (!target || skip.test(target) || seen.has(target)) continue;
      if (nav) {
        queue.push(target);
      } else if (records < RECORDS_PER_PAGE && !shapes.has(shapeOf(target))) {
        // The first few links into records of each kind: one unit page is
        // much like another, but each kind of page is visited.
        shapes.add(shapeOf(target));
        records += 1;
        queue.push(target);
      }
    }
  }
  await context.close();
  visitedPerUser[username] = (visitedPerUser[username] ?? 0) + visited;
  return visited;
}

const crawls = users.flatMap(([username, password]) =>
  views.map(([windowName, viewport, lang]) => () => crawl(username, password, windowName, viewport, lang)),
);
try {
  const next = async () => {
    for (let job = crawls.shift(); job; job = crawls.shift()) await job();
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
} finally {
  await browser.close();
}

for (const [user, n] of Object.entries(visitedPerUser)) console.log(`crawl: ${user} visited ${n} pages`);
if (problems.length > 0) {
  console.error(`crawl found ${problems.length} problems:\n${[...new Set(problems)].join("\n")}`);
  process.exit(1);
}
console.log(`crawl: ${Object.values(visitedPerUser).reduce((a, b) => a + b, 0)} pages, no problems`);
