// qa web page: everything here adds to server-rendered HTML that already works without it.
// No inline script (the pages' CSP forbids it), no request outside this origin.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function announce(text) {
    const region = $("#announce") || $("#docs-status") || $("#upload-result");
    if (region) {
      region.textContent = "";
      // A change after load is what screen readers announce.
      window.setTimeout(() => { region.textContent = text; }, 50);
    }
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    }
  }

  // -- the answer ------------------------------------------------------------------------------
  function setupAnswer() {
    $$("button[data-copy]").forEach((b) => {
      b.hidden = false;
      b.addEventListener("click", async () => {
        const ok = await copy(b.dataset.copy);
        announce(ok ? b.dataset.label || "Copied" : "Could not copy");
      });
    });
    const live = $("#announce");
    if (live && live.dataset.text) announce(live.dataset.text);
    if (location.hash.startsWith("#quote-")) {
      const q = $(location.hash);
      if (q) q.focus();
    }
  }

  function quotes() { return $$("article.quote"); }
  function currentQuote() {
    const active = document.activeElement && document.activeElement.closest("article.quote");
    return active || $("article.quote.active");
  }
  function moveQuote(step) {
    const all = quotes();
    if (!all.length) return;
    const at = all.indexOf(currentQuote());
    const next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step))];
    all.forEach((q) => q.classList.toggle("active", q === next));
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function setupKeys() {
    const dialog = $("#keys");
    $$("[data-action=keys]").forEach((b) => {
      b.hidden = false;
      b.addEventListener("click", () => dialog && dialog.showModal());
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
      if (dialog && dialog.open) return;
      const q = currentQuote();
      switch (ev.key) {
        case "/": {
          const box = $("#q");
          if (box) { ev.preventDefault(); box.focus(); box.select(); }
          break;
        }
        case "j": ev.preventDefault(); moveQuote(1); break;
        case "k": ev.preventDefault(); moveQuote(-1); break;
        case "o": if (q) { ev.preventDefault(); $("a.open", q).click(); } break;
        case "c": if (q) { ev.preventDefault(); $("button.copy", q).click(); } break;
        case "?": if (dialog) { ev.preventDefault(); dialog.showModal(); } break;
        default: break;
      }
    });
  }

  // -- the reader ------------------------------------------------------------------------------
  let anchorLine = null;
  function selectLines() {
    const m = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
    $$(".line.selected").forEach((l) => l.classList.remove("selected"));
    if (!m) return false;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    const lo = Math.min(a, b), hi = Math.max(a, b);
    const picked = $$(".line").filter((l) => {
      const n = Number(l.dataset.line);
      return n >= lo && n <= hi;
    });
    picked.forEach((l) => l.classList.add("selected"));
    if (picked.length) picked[0].scrollIntoView({ block: "center" });
    return picked.length > 0;
  }

  function setupReader() {
    if (!$(".transcript")) return;
    $$(".lno").forEach((a) => {
      a.addEventListener("click", (ev) => {
        const n = Number(a.closest(".line").dataset.line);
        if (ev.shiftKey && anchorLine !== null) {
          ev.preventDefault();
          const lo = Math.min(anchorLine, n), hi = Math.max(anchorLine, n);
          history.replaceState(null, "", `#L${lo}-L${hi}`);
          selectLines();
        } else {
          anchorLine = n;
        }
      });
    });
    window.addEventListener("hashchange", selectLines);
    if (!selectLines()) {
      const mark = $("#m");
      if (mark) mark.scrollIntoView({ block: "center" });
    }
    const player = $("#player");
    if (!player) return;
    const turns = $$(".turn[data-t]");
    $$("a.time[data-t]").forEach((a) => {
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        player.currentTime = Number(a.dataset.t);
        const played = player.play();
        if (played && played.catch) played.catch(() => {});
      });
    });
    player.addEventListener("timeupdate", () => {
      let playing = null;
      for (const t of turns) {
        if (Number(t.dataset.t) <= player.currentTime + 0.05) playing = t;
      }
      turns.forEach((t) => t.classList.toggle("playing", t === playing));
      if (playing && !player.paused) playing.scrollIntoView({ block: "nearest" });
    });
  }

  // -- the documents page ----------------------------------------------------------------------
  let apiKey = "";  // in this page's memory only: never stored, gone on reload

  function detail(body, status) {
    return (body && (body.detail || body.error)) || `HTTP ${status}`;
  }
  function docPath(id) { return id.split("/").map(encodeURIComponent).join("/"); }

  async function refreshTable() {
    const res = await fetch("/transcripts", { headers: { Accept: "text/html" } });
    const page = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = $("#docs tbody", page);
    const meta = $("main .meta", page);
    if (fresh) $("#docs tbody").replaceWith(fresh);
    if (meta) $("main .meta").replaceWith(meta);
    bindDeletes();
  }

  function bindDeletes() {
    $$("button.delete").forEach((b) => {
      b.hidden = false;
      b.disabled = !apiKey;
      b.addEventListener("click", async () => {
        const id = b.dataset.doc;
        if (!window.confirm(`Delete ${id}? This removes the file from the source folder and from the index.`)) return;
        const res = await fetch(`/documents/${docPath(id)}`, {
          method: "DELETE", headers: { Authorization: `Bearer ${apiKey}` },
        });
        const body = await res.json().catch(() => null);
        if (res.ok) {
          await refreshTable();
          announce(`Deleted ${id}`);
        } else {
          announce(`Could not delete ${id}: ${detail(body, res.status)}`);
        }
      });
    });
  }

  async function upload(file) {
    const out = $("#upload-result");
    out.textContent = `Uploading ${file.name}…`;
    const form = new FormData();
    form.append("file", file, file.name);
    const res = await fetch("/documents", {
      method: "POST", headers: { Authorization: `Bearer ${apiKey}` }, body: form,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      out.textContent = `Could not add ${file.name}: ${detail(body, res.status)}`;
      return;
    }
    const sres = await fetch(`/summary/${docPath(body.doc_id)}`);
    const s = sres.ok ? await sres.json() : null;
    out.textContent = "";
    const p = document.createElement("p");
    const link = document.createElement("a");
    link.href = `/transcripts/${docPath(body.doc_id)}`;
    link.textContent = body.doc_id;
    p.append(res.status === 201 ? "Added " : "Replaced ", link);
    if (s) {
      const speakers = s.speakers.length ? s.speakers.join(", ") : "none found";
      p.append(`: speakers ${speakers}; ${s.turns} turns; ${s.chunks} chunks` +
        (s.duration_label ? `; duration ${s.duration_label}` : "") + ".");
    }
    out.append(p);
    await refreshTable();
  }

  function setupDocs() {
    const key = $("#key");
    if (!key) return;
    $$(".js-only").forEach((e) => { e.hidden = false; });
    $("#manage").addEventListener("submit", (ev) => ev.preventDefault());  // Enter in the key field
    const file = $("#file");
    key.addEventListener("input", () => {
      apiKey = key.value.trim();
      file.disabled = !apiKey;
      $$("button.delete").forEach((b) => { b.disabled = !apiKey; });
    });
    file.addEventListener("change", () => { if (file.files.length) upload(file.files[0]); });
    const drop = $("#drop");
    drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (ev) => {
      ev.preventDefault();
      drop.classList.remove("over");
      if (!apiKey) { announce("Enter the API key first"); return; }
      const f = ev.dataTransfer && ev.dataTransfer.files[0];
      if (f) upload(f);
    });
    bindDeletes();
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupKeys();
    setupAnswer();
    setupReader();
    setupDocs();
  });
})();
