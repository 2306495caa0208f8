// Loupan's own small script: progressive enhancement only; every page works without it.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

// Duplicate warning while an agent registers a customer (phone first): asks the
// server which customers of the project share the phone or the name.
(() => {
  const box = document.getElementById("duplicate-warning");
  if (!box) return;
  const phone = document.getElementById("phone");
  const name = document.getElementById("name");
  const project = document.getElementById("project_id");
  let timer = null;
  const check = async () => {
    const params = new URLSearchParams({ project_id: project.value, phone: phone.value, name: name.value });
    try {
      const res = await fetch(`/api/v1/customers/duplicate-check?${params}`, { credentials: "same-origin" });
      if (!res.ok) return;
      const { items } = await res.json();
      box.replaceChildren();
      box.hidden = items.length === 0;
      if (!items.length) return;
      const title = document.createElement("strong");
      title.textContent = box.dataset.title;
      box.append(title);
      const list = document.createElement("ul");
      for (const m of items) {
        const li = document.createElement("li");
        li.textContent = `${box.dataset[m.match] || m.match} · ${box.dataset.owner}: ${m.owner_agent}`;
        list.append(li);
      }
      box.append(list);
    } catch (_) { /* the server check on save still applies */ }
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(check, 250); };
  for (const el of [phone, name, project]) el.addEventListener("input", later);
})();

// The 销控图 follows unit changes made by anyone, without a reload.
(() => {
  const chart = document.querySelector(".chart[data-events]");
  if (!chart || !window.EventSource) return;
  const events = new EventSource(chart.dataset.events);
  events.addEventListener("unit", (e) => {
    const change = JSON.parse(e.data);
    const tile = chart.querySelector(`[data-unit="${change.unit_id}"]`);
    if (!tile) return;
    tile.className = tile.className.replace(/\bst-[a-z_]+/, `st-${change.status}`);
    const label = tile.querySelector(".status");
    const text = chart.dataset[`status${change.status.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase())}`];
    if (label && text) label.textContent = text;
    tile.classList.add("changed");
  });
  events.addEventListener("reload", () => window.location.reload());
})();

// The 财控图 reloads when money or a unit of its building moves (debounced).
(() => {
  const chart = document.querySelector(".chart[data-reload-events]");
  if (!chart || !window.EventSource) return;
  const events = new EventSource(chart.dataset.reloadEvents);
  let timer;
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => window.location.reload(), 500); };
  events.addEventListener("unit", reload);
  events.addEventListener("reload", reload);
})();

// Counts beside "approvals" and the bell, on every page with the navigation.
(async () => {
  const badges = document.querySelectorAll(".badge[data-count]");
  if (!badges.length) return;
  try {
    const res = await fetch("/api/v1/workbench/counts", { credentials: "same-origin" });
    if (!res.ok) return;
    const counts = await res.json();
    for (const b of badges) {
      const n = counts[b.dataset.count] || 0;
      b.textContent = n > 99 ? "99+" : String(n);
      b.hidden = n === 0;
    }
  } catch (_) {
    // The page works without the counts.
  }
})();

// Bird's-eye view: "mark" a building, then click two opposite corners on the site plan.
(() => {
  const plan = document.getElementById("site-plan-image");
  if (!plan) return;
  // Regions are placed from their data (the page allows no inline styles).
  for (const region of document.querySelectorAll(".site-plan .region")) {
    region.style.left = `${region.dataset.x}%`;
    region.style.top = `${region.dataset.y}%`;
    region.style.width = `${region.dataset.w}%`;
    region.style.height = `${region.dataset.h}%`;
  }
  let form = null;
  let first = null;
  for (const button of document.querySelectorAll(".mark-region")) {
    button.addEventListener("click", () => {
      form = button.closest("form");
      first = null;
      plan.classList.add("marking");
    });
  }
  plan.addEventListener("click", (event) => {
    if (!form) return;
    const box = plan.getBoundingClientRect();
    const at = {
      x: Math.round(((event.clientX - box.left) / box.width) * 1000),
      y: Math.round(((event.clientY - box.top) / box.height) * 1000),
    };
    if (!first) {
      first = at;
      return;
    }
    form.elements.x.value = Math.min(first.x, at.x);
    form.elements.y.value = Math.min(first.y, at.y);
    form.elements.w.value = Math.max(1, Math.abs(at.x - first.x));
    form.elements.h.value = Math.max(1, Math.abs(at.y - first.y));
    plan.classList.remove("marking");
    form = null;
    first = null;
  });
})();

// The cost item tree: a parent's button hides and shows the rows below it
// (their codes start with the parent's code and a dot).
(() => {
  const table = document.getElementById("dynamic-cost");
  if (!table) return;
  table.querySelectorAll("button.toggle").forEach((button) => {
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "▾" : "▸";
      const prefix = `${button.dataset.code}.`;
      table.querySelectorAll("tbody tr[data-code]").forEach((row) => {
        if (row.dataset.code.startsWith(prefix)) row.hidden = !open;
      });
    });
  });
})();
