// Loupan in a real browser: sign in, the workbench, user administration and the
// sales control chart, in headless Chromium. Fails on any page error, failed
// asset or missing text; saves screenshots under target/screenshots/.
//
// Usage: node run.mjs <base-url> <admin-password> <screenshot-dir>
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, password, shots] = process.argv.slice(2);
if (!base || !password || !shots) {
  console.error("usage: node run.mjs <base-url> <admin-password> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const problems = [];
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "loupan-chromium-")), {
  executablePath: process.env.LOUPAN_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 860 },
  locale: "zh-CN",
});
const page = context.pages()[0] ?? (await context.newPage());
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
// Failed loads are judged by their status below; other console errors are bugs.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
});
page.on("response", (r) => {
  // 401/403/422 answers are part of the stories below; anything else failing is a bug.
  if (r.status() >= 500 || (r.status() === 404)) problems.push(`${r.status()} ${r.url()}`);
});

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

try {
  // 1. Anyone is sent to the sign-in page, in Chinese by default.
  await page.goto(`${base}/admin/users`);
  expect(page.url().includes("/login"), `expected the login page, got ${page.url()}`);
  expect((await page.textContent("h1")).includes("楼盘"), "login page is not in Chinese");
  const css = await page.evaluate(() => getComputedStyle(document.querySelector(".login-card")).borderRadius);
  expect(css && css !== "0px", "stylesheet not applied");
  await shot("01-login");

  // 2. A wrong password is refused with a message.
  await page.fill("#username", "admin");
  await page.fill("#password", "wrong-password");
  await page.click("#login-submit");
  expect((await page.textContent(".error")).includes("用户名或密码不正确"), "no error for a wrong password");

  // 3. Signing in lands where the user was going.
  await page.fill("#password", password);
  await page.click("#login-submit");
  await page.waitForURL(`${base}/admin/users`);
  expect((await page.textContent("h1")).includes("用户管理"), "user administration did not open");

  // 4. The workbench.
  await page.click("nav.modules >> text=工作台");
  await page.waitForURL(`${base}/`);
  const home = await page.textContent("main");
  expect(home.includes("您好") && home.includes("翠湖名苑"), "workbench lacks greeting or demo project");
  await shot("02-workbench");

  // 5. Create a user through the form, with a field error first.
  await page.click("nav.modules >> text=用户管理");
  await page.fill("form#create-user input[name=username]", "zhouxun");
  await page.fill("form#create-user input[name=display_name]", "周迅");
  await page.fill("form#create-user input[name=password]", "short");
  await page.check("form#create-user input[value=sales_agent]");
  await page.click("form#create-user button[type=submit]");
  expect((await page.textContent("form#create-user")).includes("密码至少 10 个字符"), "no field error for a short password");
  await page.fill("form#create-user input[name=password]", "Zhou-xun-2026!");
  await page.click("form#create-user button[type=submit]");
  await page.waitForURL(/notice=created/);
  const users = await page.textContent("#users");
  expect(users.includes("周迅") && users.includes("置业顾问"), "new user missing from the list");
  await shot("03-users");

  // 6. The sales control chart of a demo building.
  await page.click("nav.modules >> text=项目房源");
  await page.click("a.button >> nth=0");
  await page.waitForSelector(".chart .unit");
  const units = await page.locator(".chart .unit").count();
  expect(units >= 50, `chart shows only ${units} units`);
  await shot("04-sales-control-chart");

  // 6b. From a unit tile to a subscription, then a contract with its plan.
  const chartUrl = page.url();
  const holdId = await page.getAttribute(".chart a.unit.st-available >> nth=1", "data-unit");
  await page.click(".chart a.unit.st-available >> nth=0");
  await page.waitForSelector("#subscribe-form");
  await page.click("#subscribe");
  await page.waitForSelector("#unit-status.st-subscribed");
  await page.click("#sign");
  await page.waitForSelector("#plan tbody tr");
  const planRows = await page.locator("#plan tbody tr").count();
  expect(planRows >= 1, "the contract has no payment plan");
  await shot("08-contract-plan");

  // 6c. A second browser tab sees a unit held by the manager without reloading.
  const watcher = await context.newPage();
  await watcher.goto(chartUrl);
  await watcher.waitForSelector(`[data-unit="${holdId}"].st-available`);
  await page.goto(`${base}/units/${holdId}`);
  await page.click("#hold");
  await page.waitForSelector("#unit-status.st-held");
  await watcher.waitForSelector(`[data-unit="${holdId}"].st-held`, { timeout: 5000 });
  await watcher.screenshot({ path: join(shots, "10-live-chart-update.png"), fullPage: false });
  await watcher.close();
  await page.click("nav.modules >> text=财务");
  await page.waitForSelector("#ageing");
  await shot("09-ageing");

  // 6d. Export the project's units to Excel and check the file back in.
  await page.click("nav.modules >> text=项目房源");
  const exportHref = await page.getAttribute("a[href^='/api/v1/units/export']", "href");
  const xlsx = await page.request.get(`${base}${exportHref}`);
  expect(xlsx.ok(), `export failed: ${xlsx.status()}`);
  await page.setInputFiles("form.import-form input[type=file]", {
    name: "units.xlsx",
    mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    buffer: await xlsx.body(),
  });
  await page.selectOption("form.import-form select[name=mode]", "validate");
  await page.click("form.import-form button[type=submit]");
  await page.waitForSelector("#import-summary");
  const summary = await page.textContent("#import-summary");
  expect(summary.includes("共 144 行") && summary.includes("144 行正确"), `import check: ${summary}`);
  await shot("11-import-check");

  // 6e. A price adjustment: drafted with a preview, applied on confirmation.
  await page.click("nav.modules >> text=项目房源");
  await page.click("details summary >> nth=0");
  await page.fill("input[name=name] >> nth=0", "二号楼上调2%");
  await page.selectOption("select[name=building_id] >> nth=0", { label: "2号楼" });
  await page.fill("input[name=value] >> nth=0", "0.02");
  await page.click("details button[type=submit] >> nth=0");
  await page.waitForSelector("#apply-adjustment");
  await shot("12-price-adjustment-preview");
  await page.click("#apply-adjustment");
  await page.waitForSelector("text=已执行");

  // 7. Register a customer: the duplicate warning appears while typing the phone.
  await page.click("nav.modules >> text=客户");
  const listed = await page.locator("#customers tbody tr").count();
  expect(listed >= 10, `demo customers missing (${listed} rows)`);
  await page.click("#register-customer");
  await page.fill("#phone", "138 1234 5601");
  await page.waitForSelector("#duplicate-warning:not([hidden])");
  expect((await page.textContent("#duplicate-warning")).includes("电话相同"), "no live duplicate warning");
  await page.fill("#name", "张伟");
  await shot("06-register-duplicate-warning");
  await page.click("#save-customer");
  await page.waitForURL(/\/customers\/[0-9a-f]+\?duplicates=/);
  expect((await page.textContent("main")).includes("销售经理裁定"), "no duplicate notice after saving");
  await shot("07-customer");

  // 8. English on request.
  await page.click("nav.modules >> text=项目房源");
  await page.click("a.button >> nth=0");
  await page.click("header form.inline button.link >> nth=0");
  await page.waitForSelector("text=Sales control chart");
  await shot("05-chart-english");

  // 9. Sign out.
  await page.click("#logout");
  await page.waitForURL(/\/login/);
} catch (e) {
  await shot("failure").catch(() => {});
  problems.push(`story failed: ${e.message}`);
} finally {
  await context.close();
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`browser stories passed; screenshots in ${shots}`);
