// The crawl: every page a user can reach, as every demo user and the admin.
// Each user's pages are opened in a desktop window in Chinese and each one is
// also asked for in English (the server's answer and its log of missing
// translations depend on the language; a page's scripts do not); the admin
// also walks every page in a tablet-sized window in English. From the
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
const desktop = ["desktop", { width: 1280, height: 860 }, "zh-CN"];
const tablet = ["tablet", { width: 820, height: 1180 }, "en"];
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
         "--disable-component-update", "--disable-sync",
         // One origin throughout: no new renderer process per navigation (a tenth off the crawl).
         "--disable-features=BackForwardCache,ProactivelySwapBrowsingInstance,IsolateOrigins,site-per-process",
         "--disable-site-isolation-trials", "--renderer-process-limit=2"],
});

const problems = [];
const visitedPerUser = {};
let englishAnswers = 0;

// `/customers/0f3a…` and `/customers/9b1c…` are the same kind of page.
function shapeOf(path) {
  return path.replace(/[0-9a-f]{8,}|\d+/gi, ":id").replace(/\?.*$/, "");
}

// Each user signs in once; both windows use that session.
const sessions = {};

// `alsoInEnglish`: each page opened is also asked for in English, without a window.
async function crawl(username, [windowName, viewport, lang], alsoInEnglish) {
  const context = await browser.newContext({ viewport, locale: lang, storageState: await sessions[username] });
  await context.addCookies([{ name: "loupan_lang", value: lang, url: base }]);
  let inEnglish = null;
  if (alsoInEnglish) {
    inEnglish = await browser.newContext({ storageState: await sessions[username] });
    await inEnglish.addCookies([{ name: "loupan_lang", value: "en", url: base }]);
  }
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


  const seen = new Set();
  const shapes = new Set();
  // Each page with the page that linked to it, for the report.
  const queue = [["/", "the sign-in"]];
  let visited = 0;
  while (queue.length > 0 && visited < MAX_PAGES) {
    const [path, from] = queue.shift();
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
      problems.push(`${username} ${windowName} ${lang} ${path} (linked from ${from}): answered ${response?.status()}`);
      continue;
    }
    if (inEnglish) {
      const answer = await inEnglish.request.get(`${base}${path}`);
      if (answer.status() >= 400) problems.push(`${username} en ${path}: answered ${answer.status()}`);
      if (answer.url().includes("/login")) problems.push(`${username} en ${path}: signed out`);
      englishAnswers += 1;
    }
    if (page.url().includes("/login")) {
      problems.push(`${username} ${windowName} ${lang} ${path}: signed out`);
      break;
    }
    // In the page's own world: `$$eval` costs twice as much per page.
    const links = await page.evaluate(() =>
      Array.from(document.querySelectorAll("a[href^='/']"), (a) => ({ href: a.getAttribute("href"), nav: !!a.closest("nav") })),
    );
    let records = 0;
    for (const { href, nav } of links) {
      const target = href.split("#")[0];
      if (!target || skip.test(target) || seen.has(target)) continue;
      if (nav) {
        queue.push([target, path]);
      } else if (records < RECORDS_PER_PAGE && !shapes.has(shapeOf(target))) {
        // The first few links into records of each kind: one unit page is
        // much like another, but each kind of page is visited.
        shapes.add(shapeOf(target));
        records += 1;
        queue.push([target, path]);
      }
    }
  }
  await context.close();
  await inEnglish?.close();
  visitedPerUser[username] = (visitedPerUser[username] ?? 0) + visited;
  return visited;
}

async function signIn(username, password) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login-submit");
  await page.waitForURL(`${base}/`);
  const state = await context.storageState();
  await context.close();
  return state;
}

for (const [username, password] of users) sessions[username] = signIn(username, password);
const crawls = [
  () => crawl("admin", tablet, false),
  ...users.map(([username]) => () => crawl(username, desktop, true)),
];
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
console.log(`crawl: ${Object.values(visitedPerUser).reduce((a, b) => a + b, 0)} pages in a window and ${englishAnswers} answers in English, no problems`);
