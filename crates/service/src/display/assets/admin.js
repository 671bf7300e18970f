// The store admin's journal page: read-only, no key in the page. The key comes from the form
// or the URL fragment (#key=…, never sent to the server) and goes to qrpayd's JSON endpoints as
// `Authorization: Bearer`. Everything is built with textContent (no HTML from data).
"use strict";

const STATUS = { pending: "ожидает", paid: "оплачен", failed: "ошибка", expired: "истёк", cancelled: "отменён", succeeded: "выполнен" };
const DIFFERENCE = {
  payment_missing_in_journal: "оплата есть в банке, нет в журнале",
  payment_missing_at_bank: "оплата есть в журнале, нет в банке",
  payment_amount_mismatch: "суммы оплаты различаются",
  payment_status_mismatch: "в банке оплачено, в журнале нет",
  refund_missing_in_journal: "возврат есть в банке, нет в журнале",
  refund_missing_at_bank: "возврат есть в журнале, нет в банке",
  refund_amount_mismatch: "суммы возврата различаются",
  refund_status_mismatch: "в банке возвращено, в журнале нет",
};

const $ = (id) => document.getElementById(id);
let key = "";

function rubles(kopecks) {
  const sign = kopecks < 0 ? "-" : "";
  const k = Math.abs(kopecks);
  return sign + Math.floor(k / 100).toLocaleString("ru-RU") + "," + String(k % 100).padStart(2, "0");
}

function time(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("ru-RU", { timeZone: "Europe/Moscow" });
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function link(row, id) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.textContent = id;
  a.dataset.payment = id;
  a.addEventListener("click", () => showPayment(id));
  td.appendChild(a);
  row.appendChild(td);
}

function fill(tableId, items, render) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement("tr");
    render(tr, item);
    body.appendChild(tr);
  }
  if (items.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(tr, "нет");
    td.colSpan = $(tableId).querySelectorAll("th").length;
    body.appendChild(tr);
  }
}

function error(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error ? body.error.message : "HTTP " + response.status;
    throw new Error(response.status === 401 || response.status === 403 ? "ключ не подходит: " + message : message);
  }
  return body;
}

function statusText(p) {
  return (STATUS[p.status] || p.status) + (p.late ? " (поздно: " + (p.late_action || "flag") + ")" : "");
}

function paymentRow(tr, p) {
  cell(tr, time(p.created_at));
  cell(tr, p.register);
  cell(tr, p.provider);
  cell(tr, p.order);
  cell(tr, rubles(p.amount), "n");
  cell(tr, statusText(p), p.late ? "late" : "status-" + p.status);
  link(tr, p.id);
}

async function loadDay() {
  const date = $("date").value;
  const day = await api("/v1/admin/day" + (date ? "?date=" + encodeURIComponent(date) : ""));
  $("date").value = day.date;
  $("day-date").textContent = day.date;
  fill("groups", day.groups.concat([day.totals]), (tr, g) => {
    const total = g.register === "*";
    if (total) tr.className = "total";
    cell(tr, total ? "Итого" : g.register);
    cell(tr, total ? "" : g.provider);
    cell(tr, g.payments, "n");
    cell(tr, g.paid, "n");
    cell(tr, rubles(g.paid_amount), "n");
    cell(tr, rubles(g.refunded_amount), "n");
  });
  $("list-title").textContent = "Все платежи дня";
  fill("payments", day.payments, paymentRow);
  $("day-card").hidden = false;
}

async function loadAttention() {
  const a = await api("/v1/admin/attention");
  fill("late", a.late, (tr, p) => {
    cell(tr, time(p.created_at));
    cell(tr, p.register);
    cell(tr, p.order);
    cell(tr, rubles(p.amount), "n");
    cell(tr, p.late_action === "refund" ? "возвращено автоматически" : "решает человек (flag)", p.late_action === "refund" ? "" : "late");
    link(tr, p.id);
  });
  fill("failed-refunds", a.failed_refunds, (tr, r) => {
    cell(tr, time(r.created_at));
    cell(tr, r.id);
    cell(tr, rubles(r.amount), "n");
    cell(tr, r.failure);
    link(tr, r.payment_id);
  });
  $("attention-card").hidden = false;
}

async function loadReconciliation() {
  const { last } = await api("/v1/admin/reconciliation");
  if (!last) {
    $("rec-summary").textContent = "Сверок ещё не было (qrpayd reconcile).";
    fill("differences", [], () => {});
  } else {
    $("rec-summary").textContent = "Реестр за " + (last.registry_date || "?") + ", сверка " + time(last.ran_at) + ": " +
      (last.differences === 0 ? "расхождений нет." : "расхождений: " + last.differences + ".");
    const differences = (last.report && last.report.differences) || [];
    fill("differences", differences, (tr, d) => {
      cell(tr, DIFFERENCE[d.kind] || d.kind);
      cell(tr, d.payment_id);
      cell(tr, d.refund_id);
      cell(tr, d.bank_amount, "n");
      cell(tr, d.journal_amount, "n");
      cell(tr, d.journal_status);
    });
  }
  $("reconciliation-card").hidden = false;
}

function field(dl, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  dl.append(dt, dd);
}

function historyRows(tableBody, lines) {
  for (const line of lines) {
    const tr = document.createElement("tr");
    cell(tr, time(line.at));
    cell(tr, line.from);
    cell(tr, line.to);
    cell(tr, line.event);
    cell(tr, line.detail);
    tableBody.appendChild(tr);
  }
}

async function showPayment(id) {
  error("");
  try {
    const p = await api("/v1/admin/payments/" + encodeURIComponent(id));
    $("d-id").textContent = p.id;
    const dl = $("d-fields");
    dl.replaceChildren();
    field(dl, "Статус", statusText(p));
    field(dl, "Сумма, ₽", rubles(p.amount));
    field(dl, "Возвращено, ₽", rubles(p.refunded));
    field(dl, "Касса", p.register);
    field(dl, "Банк", p.provider + " (" + p.qr_type + ")");
    field(dl, "Чек", p.order);
    field(dl, "Создан", time(p.created_at));
    field(dl, "Оплачен", time(p.paid_at));
    field(dl, "QR", p.qr_id);
    field(dl, "Операция банка", p.bank_transaction_id);
    field(dl, "Ошибка", p.failure);
    const body = $("history").querySelector("tbody");
    body.replaceChildren();
    historyRows(body, p.history);
    const refunds = $("d-refunds");
    refunds.replaceChildren();
    for (const r of p.refunds) {
      const h = document.createElement("h3");
      h.textContent = "Возврат " + r.id + ": " + rubles(r.amount) + " ₽, " + (STATUS[r.status] || r.status) +
        (r.automatic ? " (автоматический)" : "") + (r.failure ? " — " + r.failure : "");
      const table = document.createElement("table");
      table.className = "refund-history";
      const tbody = document.createElement("tbody");
      historyRows(tbody, r.history);
      table.appendChild(tbody);
      refunds.append(h, table);
    }
    $("detail-card").hidden = false;
    $("detail-card").scrollIntoView();
  } catch (e) {
    error(e.message);
  }
}

async function loadAll() {
  error("");
  key = $("key").value.trim();
  if (!key) {
    error("введите ключ администратора");
    return;
  }
  try {
    await loadDay();
    await loadAttention();
    await loadReconciliation();
    document.body.dataset.loaded = "yes";
  } catch (e) {
    error(e.message);
  }
}

async function search(event) {
  event.preventDefault();
  error("");
  key = $("key").value.trim();
  const order = $("order").value.trim();
  if (!order) return;
  try {
    const found = await api("/v1/admin/search?order=" + encodeURIComponent(order));
    $("list-title").textContent = "Чек " + order + ": найдено " + found.payments.length;
    fill("payments", found.payments, paymentRow);
    $("day-card").hidden = false;
    if (found.payments.length === 1) await showPayment(found.payments[0].id);
  } catch (e) {
    error(e.message);
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadAll();
});
$("search-form").addEventListener("submit", search);

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("key")) {
  $("key").value = fragment.get("key");
  // The key stays out of the address bar (history, screenshots).
  history.replaceState(null, "", location.pathname + location.search);
  loadAll();
}
