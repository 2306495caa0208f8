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

// A searchable customer picker in place of a long drop-down: type a name, its
// pinyin initials or phone digits and choose from the matches the customer
// search of the API returns (the reader's own scope). The drop-down stays in
// the page for browsers without this script; with it, its value is the choice.
(() => {
  let n = 0;
  for (const select of document.querySelectorAll("select[data-picker=customers]")) {
    n += 1;
    const wrap = document.createElement("div");
    wrap.className = "picker";
    const input = document.createElement("input");
    input.type = "search";
    input.autocomplete = "off";
    input.placeholder = select.dataset.placeholder || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-autocomplete", "list");
    const list = document.createElement("ul");
    list.id = `picker-${n}`;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    const chosen = select.selectedOptions[0];
    if (chosen && chosen.value) input.value = chosen.textContent.trim();
    select.hidden = true;
    select.after(wrap);
    wrap.append(input, list);
    let matches = [];
    let active = -1;
    let timer = null;
    let asked = 0;
    const show = (open) => {
      list.hidden = !open;
      input.setAttribute("aria-expanded", String(open));
    };
    const highlight = (i) => {
      active = i;
      list.querySelectorAll("li").forEach((li, n) => li.setAttribute("aria-selected", String(n === i)));
      if (i >= 0) input.setAttribute("aria-activedescendant", `${list.id}-${i}`);
    };
    const choose = (m) => {
      let option = [...select.options].find((o) => o.value === m.id);
      if (!option) {
        option = new Option(m.name, m.id);
        select.append(option);
      }
      select.value = m.id;
      input.value = `${m.name} ${m.phone}`;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      show(false);
    };
    const render = () => {
      list.replaceChildren();
      matches.forEach((m, i) => {
        const li = document.createElement("li");
        li.id = `${list.id}-${i}`;
        li.setAttribute("role", "option");
        const name = document.createElement("strong");
        name.textContent = m.name;
        const detail = document.createElement("span");
        detail.textContent = [m.phone, m.grade].filter(Boolean).join(" · ");
        li.append(name, detail);
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(m); });
        list.append(li);
      });
      if (!matches.length) {
        const li = document.createElement("li");
        li.className = "none";
        li.textContent = select.dataset.none || "";
        list.append(li);
      }
      highlight(matches.length ? 0 : -1);
      show(true);
    };
    const search = async () => {
      const q = input.value.trim();
      if (!q) { show(false); return; }
      const mine = ++asked;
      const params = new URLSearchParams({ q, limit: "8" });
      if (select.dataset.project) params.set("project_id", select.dataset.project);
      try {
        const res = await fetch(`/api/v1/customers?${params}`, { credentials: "same-origin" });
        if (!res.ok || mine !== asked) return;
        matches = (await res.json()).items;
        render();
      } catch (_) { /* the drop-down's value stands */ }
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && matches.length) { e.preventDefault(); highlight((active + 1) % matches.length); }
      else if (e.key === "ArrowUp" && matches.length) { e.preventDefault(); highlight((active + matches.length - 1) % matches.length); }
      else if (e.key === "Enter" && !list.hidden && active >= 0) { e.preventDefault(); choose(matches[active]); }
      else if (e.key === "Escape") show(false);
    });
    input.addEventListener("blur", () => setTimeout(() => show(false), 150));
  }
})();

// Notice templates: a merge field clicked in the picker is written into the
// template where the cursor is, so nobody has to type `{{ customer.name }}`.
(() => {
  // Fields go where the user was last typing: the e-mail's subject or the body.
  let lastTyped = null;
  for (const el of document.querySelectorAll("#template-form input[name=subject], #template-body")) {
    el.addEventListener("focus", () => { lastTyped = el; });
  }
  // A line of a printed letter (`@image …`, `@form …`) written on its own line at the cursor.
  const insertLine = (line) => {
    const area = document.getElementById("template-body");
    if (!area) return;
    const at = area.selectionStart ?? area.value.length;
    const before = area.value.slice(0, at);
    const text = (before && !before.endsWith("\n") ? "\n" : "") + line + "\n";
    area.value = before + text + area.value.slice(area.selectionEnd ?? at);
    area.focus();
    area.selectionStart = area.selectionEnd = at + text.length;
  };
  const lineButton = (line) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.dataset.insertLine = line;
    b.textContent = line;
    b.addEventListener("click", () => insertLine(line));
    return b;
  };
  for (const button of document.querySelectorAll("button[data-insert-line]")) {
    button.addEventListener("click", () => insertLine(button.dataset.insertLine));
  }
  // Uploading a picture keeps what is typed in the editor: the page stays, the lines appear.
  const pictureForm = document.getElementById("picture-form");
  if (pictureForm) {
    pictureForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const res = await fetch(pictureForm.action, {
        method: "POST", body: new FormData(pictureForm), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const lines = document.getElementById("picture-lines");
      const body = await res.json().catch(() => ({}));
      for (const old of pictureForm.querySelectorAll(".error")) old.remove();
      if (!res.ok) {
        const error = document.createElement("span");
        error.className = "error";
        error.textContent = Object.values(body.errors || {})[0] || res.statusText;
        pictureForm.querySelector("label").append(error);
        return;
      }
      for (const old of lines.querySelectorAll("button")) old.remove();
      lines.append(lineButton(body.image_line), " ", lineButton(body.form_line));
      lines.hidden = false;
    });
  }
  for (const button of document.querySelectorAll("button[data-merge-field]")) {
    button.addEventListener("click", (e) => {
      e.preventDefault();
      const area = lastTyped || document.getElementById(button.dataset.target || "template-body");
      if (!area) return;
      const text = `{{ ${button.dataset.mergeField} }}`;
      const at = area.selectionStart ?? area.value.length;
      area.value = area.value.slice(0, at) + text + area.value.slice(area.selectionEnd ?? at);
      area.focus();
      area.selectionStart = area.selectionEnd = at + text.length;
    });
  }
  // The subject and the PDF attachment belong to e-mail templates, the
  // provider's template code and the length to text messages.
  const channel = document.getElementById("template-channel");
  const length = document.getElementById("sms-length");
  const body = document.getElementById("template-body");
  const show = () => {
    const value = channel ? channel.value : "sms";
    for (const row of document.querySelectorAll(".email-only")) row.hidden = value !== "email";
    for (const row of document.querySelectorAll(".sms-only")) row.hidden = value !== "sms";
    if (!length || !body) return;
    length.hidden = value !== "sms";
    // The operators' rule: GSM text 160 / 153 per part, anything else (Chinese) 70 / 67.
    const text = body.value;
    const unicode = /[^\x0A\x0D\x20-\x7E£¥èéùìòÇØøÅåÆæßÉÄÖÑÜ§¿äöñüà¡]/.test(text);
    const chars = unicode ? text.length : [...text].reduce((n, c) => n + ("^{}\\[~]|€".includes(c) ? 2 : 1), 0);
    const [single, part] = unicode ? [70, 67] : [160, 153];
    const segments = chars === 0 ? 0 : chars <= single ? 1 : Math.ceil(chars / part);
    length.textContent = length.dataset.template.replace("{chars}", chars).replace("{segments}", segments);
  };
  if (channel) channel.addEventListener("change", show);
  if (body) body.addEventListener("input", show);
  show();
  // The settings of the chosen SMS provider only.
  const provider = document.getElementById("sms-provider");
  if (provider) {
    const pick = () => {
      for (const set of document.querySelectorAll(".sms-provider")) set.hidden = set.dataset.provider !== provider.value;
    };
    provider.addEventListener("change", pick);
    pick();
  }
  // A batch still sending reloads its page until it is done.
  const running = document.querySelector("[data-batch-running]");
  if (running) setTimeout(() => window.location.reload(), 2000);
})();

// Parts of a page fetched again and swapped in place (the reception page as
// one types, and when a visitor arrives at any door).
async function refreshParts(url, ids) {
  try {
    const res = await fetch(url, { credentials: "same-origin" });
    if (!res.ok) return;
    const page = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const id of ids) {
      const now = document.getElementById(id);
      const fresh = page.getElementById(id);
      if (now && fresh) now.replaceWith(fresh);
    }
  } catch (_) {
    // The page still works by its forms.
  }
}

// Reception: the customer's card appears while the phone or name is typed.
(() => {
  const form = document.querySelector("form[data-live-search]");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const url = `${form.action}?${new URLSearchParams(new FormData(form))}`;
      history.replaceState(null, "", url);
      refreshParts(url, [form.dataset.liveSearch]);
    }, 250);
  });
})();

// The queue, today's visits and an agent's visitors follow every door live.
(() => {
  const holder = document.querySelector("[data-live-parts][data-live-events]");
  if (!holder || !window.EventSource) return;
  const ids = holder.dataset.liveParts.split(" ");
  const events = new EventSource(holder.dataset.liveEvents);
  let timer;
  const refresh = () => { clearTimeout(timer); timer = setTimeout(() => refreshParts(window.location.href, ids), 200); };
  events.addEventListener("visit", refresh);
  events.addEventListener("reload", refresh);
})();

// Questionnaires: a question with a condition shows only while the earlier
// question it names is shown and answered with one of its values; a hidden
// question's inputs are disabled so they are not sent (the server drops them anyway).
(() => {
  const form = document.querySelector("form[data-questionnaire]");
  if (!form) return;
  const blocks = [...form.querySelectorAll("[data-question]")];
  const apply = () => {
    const shown = new Set();
    for (const block of blocks) {
      const on = block.dataset.showIf;
      let visible = true;
      if (on) {
        const values = block.dataset.showValues.split(" ");
        const source = blocks.find((b) => b.dataset.question === on);
        const chosen = source ? [...source.querySelectorAll("input:checked")].map((i) => i.value) : [];
        visible = shown.has(on) && chosen.some((v) => values.includes(v));
      }
      if (visible) shown.add(block.dataset.question);
      block.hidden = !visible;
      for (const input of block.querySelectorAll("input, textarea")) input.disabled = !visible;
    }
  };
  form.addEventListener("change", apply);
  apply();
})();

// A photo taken with the tablet's camera is sent as soon as it is chosen.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (input instanceof HTMLInputElement && input.hasAttribute("data-submit-on-change") && input.files?.length) {
    input.form?.requestSubmit();
  }
});
