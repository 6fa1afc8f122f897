"""The Markdown table of a run, from its JSON."""
from __future__ import annotations

from typing import Any


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


DISTURBED = 0.2  # share of a round a server may wait for its core before its req/s is suspect


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def _failed(fig: dict[str, Any]) -> list[str]:
    if "error" not in fig:
        return []
    first = fig["error"].strip().splitlines()[0] if fig["error"].strip() else "error"
    return [f"**failed:** `{first}` (the JSON has the whole message)", ""]


def markdown(report: dict[str, Any]) -> str:
    m = report.get("machine", {})
    cores = report.get("cores", {})
    pinning = (f"server on core {cores['server_cores']}, load on core {cores['load_cores']}"
               if cores.get("pinned") else cores.get("note", "not pinned"))
    lines = [
        f"# wamulti benchmark, {report.get('started', '')}" + (" (quick smoke run)" if report.get("quick") else ""),
        "",
        f"Machine: {m.get('cpus')} cores ({m.get('cpu_model')}), {m.get('memory_gb')} GB, Linux {m.get('kernel')}; "
        f"Python {m.get('python')}, Tornado {m.get('tornado')}, {m.get('chromium')}. Pinning: {pinning}. "
        f"Whole run: {_num(report.get('seconds'), 0)} s.",
        "",
    ]
    figs = report.get("figures", {})

    if "rest" in figs:
        fig = figs["rest"]
        lines += ["## 1. REST throughput", "", *_failed(fig)]
        if fig.get("results"):
            lines += ["| request | database | wamulti req/s | bare Tornado req/s | ratio "
                      "| server CPU µs/request (wamulti / bare) | CPU ratio | server core busy (wamulti / bare) "
                      "| server waited for a CPU (wamulti / bare) |",
                      "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
            for r in fig["results"]:
                cpu, us, waited = r["server_cpu"], r["server_cpu_us_per_request"], r.get("server_waited", {})
                disturbed = max(waited.values(), default=0) > DISTURBED
                ratio = f"**{r['ratio']:.2f}**" + (" (disturbed)" if disturbed else "")
                lines.append(f"| `{r['endpoint']}` | {r['database']} | {_num(r['wamulti_rps'], 0)} | "
                             f"{_num(r['bare_rps'], 0)} | {ratio} | {_num(us['wamulti'], 0)} / "
                             f"{_num(us['bare'], 0)} | {r['cpu_ratio']:.2f} | {_pct(cpu['wamulti'])} / {_pct(cpu['bare'])} | "
                             f"{_pct(waited.get('wamulti'))} / {_pct(waited.get('bare'))} |")
            if any(max(r.get("server_waited", {}).values(), default=0) > DISTURBED for r in fig["results"]):
                lines += ["", f"(disturbed): a server waited more than {DISTURBED:.0%} of the rounds for a CPU that other "
                              "work on the machine held, so that req/s ratio says more about the machine than about "
                              "wamulti; the CPU ratio still holds."]
            lines += ["", f"How: {fig.get('how', '')}", ""]
        if fig.get("scale"):
            lines += _scale(fig["scale"])

    if "health" in figs:
        fig = figs["health"]
        lines += ["## 2. Event loop health: `GET /api/health`", "", *_failed(fig)]
        if fig.get("alone"):
            lines += ["| condition | p50 ms | p99 ms | max ms | samples | server core busy | server waited for a CPU |",
                      "|---|---:|---:|---:|---:|---:|---:|"]
            for label, key in (("alone", "alone"), (f"while {fig.get('logins', 20)} logins run at once", "under_logins")):
                s = fig.get(key) or {}
                cpu = s.get("cpu", {})
                lines.append(f"| {label} | {_num(s.get('p50_ms'), 2)} | {_num(s.get('p99_ms'), 2)} | "
                             f"{_num(s.get('max_ms'), 2)} | {_num(s.get('samples'))} | {_pct(cpu.get('server'))} | "
                             f"{_pct(cpu.get('server_waited'))} |")
            lg = fig.get("login_load", {})
            hashing = (fig.get("under_logins") or {}).get("cpu", {}).get("hashing")
            lines += ["", f"Logins during the loaded window: {_num(lg.get('completed'))} completed "
                          f"({_num(lg.get('per_second'), 1)}/s, p50 {_num(lg.get('p50_ms'), 0)} ms each, "
                          f"{_num(lg.get('errors'))} errors)"
                          + (f"; the hashing processes used {_pct(hashing)} of a core" if hashing is not None else "")
                          + f". p99 under logins / p99 alone: {_num(fig.get('p99_ratio'), 2)}.", "",
                      f"How: {fig.get('how', '')}", ""]

    if "fanout" in figs:
        fig = figs["fanout"]
        lines += ["## 3. Websocket fan-out", "", *_failed(fig)]
        if fig.get("results"):
            lines += ["| sockets | events/s | p50 ms | p99 ms | burst p50 ms | burst p99 ms | sockets closed "
                      "| burst: server CPU µs per `message` frame | burst: server busy / waited | burst: client busy |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for r in fig["results"]:
                lat, burst = r["latency"], r["burst"]
                cpu = burst.get("cpu", {})
                lines.append(f"| {_num(r['sockets'])} | {_num(burst['events_per_second'], 0)} | "
                             f"{_num(lat['p50_ms'], 1)} | {_num(lat['p99_ms'], 1)} | {_num(burst['p50_ms'], 1)} | "
                             f"{_num(burst['p99_ms'], 1)} | {_num(r['closed'])} | "
                             f"{_num(burst.get('server_cpu_us_per_message_frame'), 0)} | "
                             f"{_pct(cpu.get('server'))} / {_pct(cpu.get('server_waited'))} | {_pct(cpu.get('client'))} |")
            lines += ["", f"How: {fig.get('how', '')}", ""]
        if fig.get("event_scale"):
            lines += _event_scale(fig["event_scale"])

    if "sessions" in figs:
        fig = figs["sessions"]
        lines += ["## 4. WhatsApp sessions", "", *_failed(fig)]
        if fig.get("results"):
            lines += ["| sessions asked | showing a QR | PSS per session MB | USS per session MB | start→QR p50 s "
                      "| start→QR p99 s | browser processes per session | other Chromium processes on the machine |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for r in fig["results"]:
                q = r["start_to_qr"]
                lines.append(f"| {_num(r['sessions'])} | {_num(r['with_qr'])} | **{_num(r['pss_mb_per_session'], 1)}** | "
                             f"{_num(r.get('uss_mb_per_session'), 1)} | {_num(q.get('p50_s'), 2)} | {_num(q.get('p99_s'), 2)} | "
                             f"{_num(r.get('processes_per_session'), 1)} | {_num(r.get('other_chromium_processes'))} |")
            total = fig.get("start_to_qr_all", {})
            lines += ["", f"Start→QR over every session started: p50 {_num(total.get('p50_s'), 2)} s, "
                          f"p99 {_num(total.get('p99_s'), 2)} s ({_num(total.get('samples'))} sessions).", "",
                      f"How: {fig.get('how', '')}", ""]

    if "media" in figs:
        lines += _media(figs["media"])
    if "failover" in figs:
        lines += _failover(figs["failover"])
    return "\n".join(lines) + "\n"


def _scale(fig: dict[str, Any]) -> list[str]:
    lines = ["### Scale of work: the chat list and a message page as messages pile up", "", *_failed(fig)]
    results = fig.get("results") or []
    if not results:
        return lines
    lines += ["| database | messages stored | in the measured chat | chat list: server CPU µs/request | req/s "
              "| message page: server CPU µs/request | req/s | mariadbd CPU µs/request (list / page) "
              "| server waited for a CPU (list / page) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        chats, msgs = r["chat_list"], r["message_page"]
        db_cpu = (f"{_num(chats.get('database_cpu_us_per_request'), 0)} / "
                  f"{_num(msgs.get('database_cpu_us_per_request'), 0)}" if r["database"] == "mysql" else "–")
        lines.append(f"| {r['database']} | {_num(r['stored_messages'])} | {_num(r['measured_chat_messages'])} | "
                     f"{_num(chats['server_cpu_us_per_request'], 0)} | {_num(chats['rps'], 0)} | "
                     f"{_num(msgs['server_cpu_us_per_request'], 0)} | {_num(msgs['rps'], 0)} | {db_cpu} | "
                     f"{_pct(chats.get('server_waited'))} / {_pct(msgs.get('server_waited'))} |")
    labels = list(results[0].get("statement_ms", {}))
    if labels:
        lines += ["", "Each statement alone (ms, median of 5, timed from the bench):", "",
                  "| database | messages stored | " + " | ".join(labels) + " |",
                  "|---|---:|" + "---:|" * len(labels)]
        for r in results:
            times = r.get("statement_ms", {})
            lines.append(f"| {r['database']} | {_num(r['stored_messages'])} | "
                         + " | ".join(_num(times.get(label), 2) for label in labels) + " |")
    lines += ["", "Query plans at the largest size:", ""]
    largest: dict[str, dict[str, Any]] = {}
    for r in results:
        if r["stored_messages"] >= largest.get(r["database"], {}).get("stored_messages", 0):
            largest[r["database"]] = r
    for database, r in largest.items():
        for label, plan in r.get("plans", {}).items():
            lines.append(f"- {database}, {label}: " + "; ".join(f"`{step}`" for step in plan))
    return [*lines, "", f"How: {fig.get('how', '')}", ""]


def _event_scale(fig: dict[str, Any]) -> list[str]:
    lines = ["### Scale of work: a `message` event as sessions are added", "", *_failed(fig)]
    results = fig.get("results") or []
    if results:
        lines += ["| sessions linked | sockets | messages | server CPU µs per message | the same less idle "
                  "| server idle share | browsers' CPU µs per message | p50 ms | p99 ms | server waited for a CPU |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results:
            lat = r["latency"]
            lines.append(f"| {_num(r['sessions'])} | {_num(r['sockets'])} | {_num(r['messages'])} | "
                         f"**{_num(r['server_cpu_us_per_message'], 0)}** | {_num(r['server_cpu_us_per_message_net'], 0)} | "
                         f"{_pct(r['server_idle_share'])} | {_num(r['browsers_cpu_us_per_message'], 0)} | "
                         f"{_num(lat.get('p50_ms'), 1)} | {_num(lat.get('p99_ms'), 1)} | {_pct(r['cpu'].get('server_waited'))} |")
    return [*lines, "", f"How: {fig.get('how', '')}", ""]


def _browser(growth: dict[str, Any]) -> str:
    if not growth:
        return "–"
    return f"{_num(growth['growth_mb'], 1)} (from {_num(growth['baseline_mb'], 0)})"


def _media(fig: dict[str, Any]) -> list[str]:
    lines = [f"## 5. Media: a {_num(fig.get('file_mb'))} MB upload and send", "", *_failed(fig)]
    runs = [*fig.get("warmups", []), *fig.get("runs", [])]
    if not runs:
        return lines
    lines += ["| run | upload s | upload MB/s | send s | server RSS before MB | server peak MB | server growth MB "
              "| growth / file size | server VmHWM growth MB | browser growth MB (from Σ RSS of its processes before) "
              "| bytes at the phone |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        server, browser = r["server"], r.get("browser") or {}
        matched = {True: "sha256 equal", False: "**differ**", None: "not listed"}[r.get("sha256_matched")]
        lines.append(f"| {r['run']} | {_num(r['upload_s'], 2)} | {_num(r['upload_mb_per_s'], 1)} | {_num(r['send_s'], 2)} | "
                     f"{_num(server['baseline_mb'], 1)} | {_num(server['peak_mb'], 1)} | {_num(server['growth_mb'], 1)} | "
                     f"**{_pct(server['growth_of_file'])}** | {_num(server.get('hwm_growth_mb'), 1)} | "
                     f"{_browser(browser)} | {matched} |")
    s = fig.get("summary") or {}
    if s:
        verdict = "under" if s.get("under_bound") else "**not** under"
        lines += ["", f"Median of {_num(s.get('runs'))} measured run(s): upload {_num(s.get('upload_s'), 2)} s, send "
                      f"{_num(s.get('send_s'), 2)} s; server peak growth {_num(s.get('server_growth_mb'), 1)} MB "
                      f"({_pct(s.get('server_growth_of_file'))} of the file; largest {_pct(s.get('server_growth_of_file_max'))}, "
                      f"{verdict} {_pct(s.get('bound_of_file'))} in every run, VmHWM included); browser growth "
                      f"{_num(s.get('browser_growth_mb'), 1)} MB. Bytes at the phone: "
                      f"{'all equal' if s.get('all_matched') else '**not all equal**'}."]
        if not fig.get("warmups"):
            lines[-1] += (" No warm-up run here: the growth includes what the server allocates once, on the first "
                          "large body it handles, which a small file does not outweigh.")
    return [*lines, "", f"How: {fig.get('how', '')}", ""]


def _failover(fig: dict[str, Any]) -> list[str]:
    lines = [f"## 6. Cluster failover: {_num(fig.get('sessions'))} sessions on three nodes", "", *_failed(fig)]
    moves = [(label, fig[key]) for label, key in (("SIGKILL (failover)", "failover"), ("SIGTERM (handoff)", "handoff"))
             if fig.get(key)]
    if not moves:
        return [*lines, f"How: {fig.get('how', '')}", ""]
    lines += ["| signal | node | its sessions | seconds to CONNECTED elsewhere p50 | max | taken by a node p50 s "
              "| lease_ttl s | messages sent meanwhile | stored once | doubled |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, m in moves:
        lines.append(f"| {label} | {m['node']} | {_num(m['sessions'])} | **{_num(m['p50_s'], 2)}** | "
                     f"{_num(m['max_s'], 2)} | {_num(m.get('first_answer_p50_s'), 2)} | "
                     f"{_num(fig.get('lease_ttl'), 0)} | {_num(m['messages_sent'])} | "
                     f"{_num(m['messages_stored_once'])} | {_num(m['messages_doubled'])} |")
    placed = fig.get("placement") or {}
    lines += ["", f"Placement after linking: {', '.join(f'{n} {c}' for n, c in placed.items())} "
                  f"(linked in {_num(fig.get('link_seconds'), 0)} s). No QR was shown in either move "
                  "(a QR fails the figure). Load average (1/5/15 min) before: "
                  f"{' / '.join(map(str, fig.get('load_average_before') or []))}, after: "
                  f"{' / '.join(map(str, fig.get('load_average_after') or []))}.", "", f"How: {fig.get('how', '')}", ""]
    return lines
