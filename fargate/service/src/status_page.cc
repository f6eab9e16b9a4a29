// The status page's document, embedded in the binary. Its script polls /targets every second;
// request rates and latencies are differences between two successive readings of the counters.
#include "efsas/service/status_page.h"

namespace efsas::service {
namespace {

constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>file-service status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #summary { color: #555; margin-bottom: 16px; }
  #summary b { color: #1d2330; }
  table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0002; }
  th, td { padding: 8px 10px; text-align: left; border-bottom: 1px solid #e4e6ea; }
  th { background: #eef0f3; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td:first-child { white-space: nowrap; }
  .badge { display: inline-block; min-width: 44px; text-align: center; padding: 2px 8px;
           border-radius: 10px; font-weight: 700; color: #fff; }
  tr[data-health="up"] .badge { background: #1f9d55; }
  tr[data-health="down"] .badge { background: #cc1f1a; }
  tr[data-health="down"] { background: #fdecea; }
  .err { color: #a00; font-size: 12px; min-width: 200px; overflow-wrap: anywhere; }
  #problem { color: #a00; margin-top: 12px; }
</style>
</head>
<body>
<h1>file-service</h1>
<div id="summary">loading /targets&hellip;</div>
<table>
  <thead><tr><th>Mount target</th><th>AZ</th><th>Health</th><th>Requests/s</th>
    <th>Latency (ms)</th><th>Requests</th><th>Failures</th><th>Last probe error</th></tr></thead>
  <tbody id="targets"></tbody>
</table>
<div id="problem"></div>
<script>
"use strict";
let previous = null;          // the last /targets reading and when it was taken
let generation = null;        // the generation shown, and when this page saw it change
let generationSeen = null;

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function render(doc, now) {
  if (doc.generation !== generation) {
    generation = doc.generation;
    generationSeen = new Date(now);
  }
  const healthy = doc.mount_targets.filter(t => t.healthy).length;
  document.getElementById("summary").innerHTML =
    "file system <b></b> &middot; generation <b id=\"generation\"></b> (list updated <b></b>," +
    " seen here since <b></b>) &middot; <b></b> of <b></b> mount targets healthy";
  const fields = document.querySelectorAll("#summary b");
  fields[0].textContent = doc.file_system_id || "-";
  fields[1].textContent = String(doc.generation);
  fields[2].textContent = doc.updated_at || "-";
  fields[3].textContent = generationSeen.toLocaleTimeString();
  fields[4].textContent = String(healthy);
  fields[5].textContent = String(doc.mount_targets.length);

  const before = new Map();
  if (previous) for (const t of previous.doc.mount_targets) before.set(t.id, t);
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const body = document.getElementById("targets");
  body.replaceChildren();
  for (const t of doc.mount_targets) {
    const row = document.createElement("tr");
    row.dataset.target = t.id;
    row.dataset.health = t.healthy ? "up" : "down";
    cell(row, t.id);
    cell(row, t.availability_zone + (t.availability_zone_id ? " (" + t.availability_zone_id + ")" : ""));
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = t.healthy ? "UP" : "DOWN";
    cell(row, "").appendChild(badge);
    const old = before.get(t.id);
    let rate = "-", latency = "-";
    if (old && seconds > 0) {
      rate = ((t.requests - old.requests) / seconds).toFixed(1);
      const count = t.timed_requests - old.timed_requests;
      if (count > 0) {
        latency = ((t.request_seconds_total - old.request_seconds_total) / count * 1000).toFixed(2);
      }
    }
    if (latency === "-" && t.timed_requests > 0) {
      latency = (t.request_seconds_total / t.timed_requests * 1000).toFixed(2) + " avg";
    }
    cell(row, rate, "num");
    cell(row, latency, "num");
    cell(row, String(t.requests), "num");
    cell(row, String(t.failures), "num");
    cell(row, t.last_error || "", "err");
    body.appendChild(row);
  }
  previous = { doc: doc, at: now };
}

async function poll() {
  try {
    const response = await fetch("/targets", { cache: "no-store" });
    if (!response.ok) throw new Error("/targets answered " + response.status);
    render(await response.json(), Date.now());
    document.getElementById("problem").textContent = "";
  } catch (e) {
    document.getElementById("problem").textContent = "cannot read /targets: " + e.message;
  }
}

poll();
setInterval(poll, 1000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace efsas::service
