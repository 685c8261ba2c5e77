"""Load benchmark: our assistant against Rasa 3.6's default pipeline, on loopback (`make bench`).

Why: the targets (p95 <= 150 ms at 10 concurrent conversations with custom actions, >= 40
messages/s, 0 errors, Rasa RSS <= 1.5 GB, training <= 5 min) are measured, never asserted.
The baseline is the configuration `rasa init` writes (bench/baseline_config.yml), trained on
the same data and domain and served with the same action server, channel and tracker store,
so the ratio isolates what our pipeline and policies cost.

For each system: train (timed; cached under bench/models by a fingerprint of the inputs, so a
re-run reuses it with its recorded time), start the action server and one Rasa process like
the local profile (`make run`: SQLite tracker, in-memory locks) on free ports, warm up, then
drive 1, 10 and 50 concurrent conversations (30 s timeout per request) with realistic patient
messages that call custom actions. Every conversation is one new patient asking the 10
questions of SCRIPT in order; a level runs max(concurrency, 200 / 10) conversations, so 200
messages at 1 and 10 conversations and 500 at 50 (each of the 50 patients asks all 10). A
reply counts as an error if it is not a 200 with a bot message, or if it is the "please call"
fallback.

Writes bench/results/<UTC date>-<machine>.json (bench/run_info.py; committed, the README quotes
it): {"date", "git_commit", "machine": {"nproc", "ram_gb", "cpu_model", "python", ...},
"runs": [{"system", "concurrency", "conversations", "messages", "p50_ms", "p95_ms", "p99_ms",
"msgs_per_s", "errors"}], "train_s", "baseline_train_s", "rss_mb": {"rasa", "actions"},
"baseline_rss_mb": {...}}

Then, on our system only (findings 4 and 6 of issue 13; no test asserts timing):
- long session: one patient sends 600 messages in a row; the median latency of turns 0-50
  against that of turns 550-600, and their ratio (target <= 2: bot/sessions.py);
- long session slows others?: the median latency of new patients while another patient sends
  back-to-back, that neighbour being new or the 600-turn patient (ratio long/new ~ 1);
- burst drain: 10 messages for one new patient 50 ms apart, all in flight together; the time
  until the last reply (target < 2 s: bot/lock_store.py hands the lock over at once).

The dated result file also gets "long_session", "neighbours" and "burst"; those three are
also written to bench/results/flat_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import aiohttp
from run_info import result_path, run_facts  # bench/ is on sys.path: this file runs as a script

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
MODELS = BENCH / "models"
BOT_BIN = REPO / ".venv" / "bot" / "bin"
ACT_BIN = REPO / ".venv" / "actions" / "bin"
DATA = ["data/nlu", "data/rules", "data/stories"]
SYSTEMS = {"ours": REPO / "config.yml", "baseline": BENCH / "baseline_config.yml"}
LEVELS = (1, 10, 50)
MESSAGES_PER_LEVEL = 200  # at least; more when concurrency x 10 questions is more
REQUEST_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 420
# One patient's questions, in order; each calls a custom action (KB lookup) or a form.
SCRIPT = [
    "can i eat before the procedure",
    "I take Xarelto, I'm having the neck one, when do I stop?",
    "do i need someone to drive me",
    "can i have coffee in the morning",
    "I take Eliquis for my lower back procedure, when should I stop it?",
    "what should i bring",
    "where do i park",
    "will i be asleep",
    "how long does it take",
    "i have a cold",
]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fingerprint(config: Path) -> str:
    """Hash of everything a training reads: config, domain, data, custom components."""
    digest = hashlib.sha256(config.read_bytes())
    inputs = [REPO / "domain.yml"]
    for folder in [*DATA, "bot/nlu", "bot/generated"]:
        inputs += sorted(p for p in (REPO / folder).rglob("*") if p.is_file()
                         and "__pycache__" not in p.parts)
    for path in inputs:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def wait_for_other_trainings(limit_s: float = 1800) -> None:
    """Two trainings never run at once on the 2-core machine: wait for any other one."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", "rasa train"], capture_output=True, text=True,
                               check=False).stdout.split()
        if not [pid for pid in found if int(pid) != os.getpid()]:
            return
        print("  another `rasa train` is running; waiting...", flush=True)
        time.sleep(15)
    raise SystemExit("another training did not finish in time")


def train(system: str, config: Path) -> Tuple[Path, float]:
    """The system's model and its training time in seconds (cached by fingerprint)."""
    MODELS.mkdir(parents=True, exist_ok=True)
    key = fingerprint(config)
    model = MODELS / f"{system}-{key}.tar.gz"
    times_file = MODELS / "train_times.json"
    times: Dict[str, float] = json.loads(times_file.read_text()) if times_file.exists() else {}
    if model.exists() and model.name in times:
        print(f"  {system}: reusing {model.name} (trained in {times[model.name]:.0f} s)")
        return model, times[model.name]
    wait_for_other_trainings()
    with tempfile.TemporaryDirectory() as tmp:
        config_copy = Path(tmp) / "config.yml"  # Rasa may rewrite an auto-configured file
        shutil.copy(config, config_copy)
        print(f"  {system}: training (seeded where the config says so)...", flush=True)
        started = time.monotonic()
        subprocess.run(
            [str(BOT_BIN / "rasa"), "train", "--config", str(config_copy), "--domain",
             "domain.yml", "--data", *DATA, "--out", tmp, "--fixed-model-name", system],
            cwd=REPO, check=True, stdout=subprocess.DEVNULL,
            # an empty training cache: the time of a training from scratch
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false",
                 "RASA_CACHE_DIRECTORY": str(Path(tmp) / "cache")})
        elapsed = time.monotonic() - started
        for old in MODELS.glob(f"{system}-*.tar.gz"):
            old.unlink()
        shutil.move(str(Path(tmp) / f"{system}.tar.gz"), model)
    times[model.name] = round(elapsed, 1)
    times_file.write_text(json.dumps(times, indent=2))
    print(f"  {system}: trained in {elapsed:.0f} s")
    return model, elapsed


@dataclass
class Stack:
    """The action server and one Rasa process of the local profile."""

    actions: subprocess.Popen
    rasa: subprocess.Popen
    url: str
    tmp: Path

    def stop(self) -> None:
        for process in (self.rasa, self.actions):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.rasa, self.actions):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def start_stack(model: Path, tmp: Path) -> Stack:
    """Action server and Rasa as `make run` starts them, with the local-only SafeRestInput."""
    action_port, rasa_port = free_port(), free_port()
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    (tmp / "credentials.yml").write_text("bot.rest_safe.SafeRestInput: {}\n")
    kb = os.environ.get("KB_DATABASE_URL") or f"sqlite:///{REPO / '.data' / 'kb.sqlite3'}"
    generated = Path(os.environ.get("DATA_DIR") or REPO / ".data") / "generated"
    if generated.is_dir():  # the clinic's texts (the gate, the "please call" replies)
        shutil.copytree(generated, tmp / "data" / "generated")
    env = {
        **os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(REPO),
        "SANIC_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp / "data"),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "ACTION_SERVER_TOKEN": "", "ACTION_TIMEOUT_S": "5",
        "TRACKER_STORE_DIALECT": "sqlite",
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'data' / 'tracker.sqlite3'}",
        "LOCK_STORE_TYPE": "bot.lock_store.PromptInMemoryLockStore", "LOCK_STORE_URL": "redis://127.0.0.1:6379/1",
        "KB_DATABASE_URL": kb,
    }
    actions = subprocess.Popen(
        [str(ACT_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port",
         str(action_port), "--quiet"], cwd=REPO, env=env, start_new_session=True,
        stdout=(tmp / "actions.log").open("w"), stderr=subprocess.STDOUT)
    rasa = subprocess.Popen(
        [str(BOT_BIN / "rasa"), "run", "--model", str(model), "--interface", "127.0.0.1",
         "--port", str(rasa_port), "--endpoints", "endpoints.yml", "--credentials",
         str(tmp / "credentials.yml")], cwd=REPO, env=env, start_new_session=True,
        stdout=(tmp / "rasa.log").open("w"), stderr=subprocess.STDOUT)
    stack = Stack(actions, rasa, f"http://127.0.0.1:{rasa_port}", tmp)
    ready = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "readiness.py"), "--url", stack.url,
         "--timeout", str(STARTUP_TIMEOUT_S), "--pid", str(rasa.pid)], check=False)
    if ready.returncode != 0:
        stack.stop()
        raise SystemExit(f"the stack did not start; see {tmp}/rasa.log")
    return stack


def rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0.0
    pids = [pid]
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                              check=False).stdout.split()
    pids += [int(child) for child in children]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(total, 1)


async def drive(url: str, concurrency: int, messages: int, unavailable: str,
                run_id: str) -> Dict[str, Any]:
    """`concurrency` conversations at a time; each is a new patient asking the whole SCRIPT
    in order. max(concurrency, messages / len(SCRIPT)) conversations in all."""
    latencies: List[float] = []
    errors = 0
    conversations = max(concurrency, -(-messages // len(SCRIPT)))
    waiting: asyncio.Queue[int] = asyncio.Queue()
    for number in range(conversations):
        waiting.put_nowait(number)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def slot(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not waiting.empty():
            sender = f"bench-{run_id}-{concurrency}-{waiting.get_nowait()}"
            for question in SCRIPT:
                body = {"sender": sender, "message": question}
                started = time.perf_counter()
                try:
                    async with session.post(f"{url}/webhooks/rest/webhook",
                                            json=body) as response:
                        reply = await response.json(content_type=None)
                        ok = response.status == 200 and bool(reply) and not any(
                            m.get("text") == unavailable for m in reply)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += 0 if ok else 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(slot(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"concurrency": concurrency, "conversations": conversations,
            "messages": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": percentile(0.95), "p99_ms": percentile(0.99),
            "msgs_per_s": round(len(ordered) / wall, 1), "errors": errors}


def unavailable_text() -> str:
    """The clinic's "please call" text from the KB export (`make kb`)."""
    sys.path.insert(0, str(REPO))
    from common.patient_texts import load

    path = Path(os.environ.get("DATA_DIR") or REPO / ".data") / "generated" / "patient_texts.json"
    return load(path).text("assistant.unavailable").text


async def post_message(session: aiohttp.ClientSession, url: str, sender: str, text: str,
                       unavailable: str) -> Tuple[float, bool]:
    """(latency in ms, answered) of one REST message."""
    started = time.perf_counter()
    try:
        async with session.post(f"{url}/webhooks/rest/webhook",
                                json={"sender": sender, "message": text}) as response:
            reply = await response.json(content_type=None)
            ok = response.status == 200 and bool(reply) and not any(
                m.get("text") == unavailable for m in reply)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        ok = False
    return (time.perf_counter() - started) * 1000, ok


async def long_session(url: str, sender: str, turns: int, unavailable: str,
                       window: int = 50) -> Dict[str, Any]:
    """One patient's `turns` messages in a row: median of the first and the last `window`."""
    latencies: List[float] = []
    errors = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) \
            as session:
        for turn in range(turns):
            latency, ok = await post_message(session, url, sender, SCRIPT[turn % len(SCRIPT)],
                                             unavailable)
            latencies.append(latency)
            errors += 0 if ok else 1
    first = statistics.median(latencies[:window])
    last = statistics.median(latencies[-window:])
    return {"turns": turns, "window": window, "median_first_ms": round(first, 1),
            "median_last_ms": round(last, 1), "ratio": round(last / max(first, 0.1), 2),
            "errors": errors}


async def neighbours(url: str, long_sender: str, unavailable: str, run_id: str,
                     samples: int = 40) -> Dict[str, Any]:
    """New patients' median latency alone, next to a new patient and next to the long one
    (the neighbour sends back-to-back while the new patients are measured)."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def measure(label: str, neighbour: str | None) -> float:
        stop = asyncio.Event()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async def keep_sending() -> None:
                turn = 0
                while not stop.is_set() and neighbour:
                    await post_message(session, url, neighbour, SCRIPT[turn % len(SCRIPT)],
                                       unavailable)
                    turn += 1

            task = asyncio.ensure_future(keep_sending())
            latencies = [(await post_message(session, url, f"new-{run_id}-{label}-{i}",
                                             SCRIPT[i % len(SCRIPT)], unavailable))[0]
                         for i in range(samples)]
            stop.set()
            await task
        return round(statistics.median(latencies), 1)

    alone = await measure("alone", None)
    with_new = await measure("new", f"neighbour-{run_id}")
    with_long = await measure("long", long_sender)
    return {"samples": samples, "alone_ms": alone, "next_to_new_ms": with_new,
            "next_to_long_session_ms": with_long,
            "ratio_long_to_new": round(with_long / max(with_new, 0.1), 2)}


async def burst(url: str, sender: str, unavailable: str, count: int = 10,
                gap_s: float = 0.05) -> Dict[str, Any]:
    """`count` messages for one patient `gap_s` apart, all in flight: time to the last reply."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) \
            as session:
        started = time.perf_counter()

        async def one(index: int) -> bool:
            await asyncio.sleep(index * gap_s)
            return (await post_message(session, url, sender,
                                       f"{SCRIPT[index % len(SCRIPT)]} ({index})", unavailable))[1]

        answered = await asyncio.gather(*(one(i) for i in range(count)))
        drain = time.perf_counter() - started
    return {"messages": count, "gap_ms": round(gap_s * 1000), "drain_s": round(drain, 2),
            "answered": sum(answered)}


def bench_flat_latency(model: Path, turns: int) -> Dict[str, Any]:
    """Long-session growth, neighbours and burst drain on our system (the local profile)."""
    with tempfile.TemporaryDirectory(prefix="bench-flat-") as tmp:
        stack = start_stack(model, Path(tmp))
        try:
            unavailable = unavailable_text()
            run_id = str(int(time.time()))
            asyncio.run(drive(stack.url, 2, 2 * len(SCRIPT), unavailable, "warmup"))
            long_sender = f"long-{run_id}"
            growth = asyncio.run(long_session(stack.url, long_sender, turns, unavailable))
            print(f"  long session: median turns 0-{growth['window']} "
                  f"{growth['median_first_ms']} ms, turns {turns - growth['window']}-{turns} "
                  f"{growth['median_last_ms']} ms, ratio {growth['ratio']} (target <= 2), "
                  f"errors={growth['errors']}", flush=True)
            others = asyncio.run(neighbours(stack.url, long_sender, unavailable, run_id))
            print(f"  new patients: alone {others['alone_ms']} ms, next to a new patient "
                  f"{others['next_to_new_ms']} ms, next to the {turns}-turn patient "
                  f"{others['next_to_long_session_ms']} ms (ratio "
                  f"{others['ratio_long_to_new']})", flush=True)
            drained = asyncio.run(burst(stack.url, f"burst-{run_id}", unavailable))
            print(f"  burst: {drained['messages']} messages {drained['gap_ms']} ms apart "
                  f"drained in {drained['drain_s']} s (target < 2 s), answered "
                  f"{drained['answered']}/{drained['messages']}", flush=True)
        finally:
            stack.stop()
    return {"long_session": growth, "neighbours": others, "burst": drained}


def bench_system(system: str, model: Path, levels: Tuple[int, ...],
                 messages: int) -> Tuple[List[Dict[str, Any]], Dict[str, float]]:
    """Start the system, warm it up, drive every level; its runs and peak RSS."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as tmp:
        stack = start_stack(model, Path(tmp))
        try:
            unavailable = unavailable_text()
            asyncio.run(drive(stack.url, 2, 2 * len(SCRIPT), unavailable, "warmup"))
            runs = []
            for level in levels:
                result = asyncio.run(drive(stack.url, level, messages, unavailable, system))
                runs.append({"system": system, **result})
                print(f"  {system:8s} c={level:<3d} p50={result['p50_ms']:7.1f} ms "
                      f"p95={result['p95_ms']:7.1f} ms p99={result['p99_ms']:7.1f} ms "
                      f"{result['msgs_per_s']:6.1f} msg/s errors={result['errors']}",
                      flush=True)
            rss = {"rasa": rss_mb(stack.rasa.pid), "actions": rss_mb(stack.actions.pid)}
        finally:
            stack.stop()
    return runs, rss


def main() -> int:
    """Train (or reuse) both models, bench both, write bench/results/<date>-<machine>.json."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=MESSAGES_PER_LEVEL)
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--systems", default="ours,baseline")
    parser.add_argument("--long-session-turns", type=int, default=600,
                        help="0 skips the long-session, neighbour and burst measurements")
    parser.add_argument("--flat-only", action="store_true",
                        help="only the long-session, neighbour and burst measurements (ours)")
    args = parser.parse_args()
    if args.flat_only:
        return flat_only(args.long_session_turns)
    levels = tuple(int(level) for level in args.levels.split(","))
    systems = [s for s in args.systems.split(",") if s in SYSTEMS]
    facts = run_facts()
    out = result_path(facts)
    result: Dict[str, Any] = {**facts, "runs": []}
    if out.exists() and set(systems) != set(SYSTEMS):
        # re-running one system keeps the other system's figures from today's file
        kept = json.loads(out.read_text())
        result["runs"] = [r for r in kept.get("runs", []) if r.get("system") not in systems]
        result.update({k: v for k, v in kept.items()
                       if k not in {"runs", "machine", "date", "started_utc", "git_commit",
                                    "settings", "load_average_at_start",
                                    "load_average_at_end"} and not any(
                           k.startswith(s) or (s == "ours" and k in {"train_s", "rss_mb"})
                           for s in systems)})
    for system in systems:
        print(f"== {system}", flush=True)
        model, train_s = train(system, SYSTEMS[system])
        runs, rss = bench_system(system, model, levels, args.messages)
        result["runs"] += runs
        if system == "ours":
            result["train_s"], result["rss_mb"] = round(train_s, 1), rss
        else:
            result[f"{system}_train_s"], result[f"{system}_rss_mb"] = round(train_s, 1), rss
    if "ours" in systems and args.long_session_turns > 0:  # 0: the levels only (quick check)
        print("== ours: long session, neighbours, burst", flush=True)
        model, _ = train("ours", SYSTEMS["ours"])
        flat = bench_flat_latency(model, args.long_session_turns)
        result.update(flat)
        write_flat(flat)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["settings"] = {"min_messages_per_level": args.messages,
                          "questions_per_conversation": len(SCRIPT),
                          "tracker_store": "sqlite (local profile)", "rasa_processes": 1}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    print(json.dumps(result, indent=2))
    report_ratios(result)
    return 0


def write_flat(flat: Dict[str, Any]) -> None:
    """bench/results/flat_latency.json, with the machine and the commit."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True, check=False).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "flat_latency.json").write_text(json.dumps({
        **flat, "date": time.strftime("%Y-%m-%d"), "commit": commit,
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_end": load,
                    "tracker_store": "sqlite (local profile)"}}, indent=2) + "\n")


def flat_only(turns: int) -> int:
    """`bench.py --flat-only`: the long-session, neighbour and burst measurements."""
    print("== ours: long session, neighbours, burst", flush=True)
    model, _ = train("ours", SYSTEMS["ours"])
    flat = bench_flat_latency(model, turns)
    write_flat(flat)
    print(json.dumps(flat, indent=2))
    return 0


def report_ratios(result: Dict[str, Any]) -> None:
    """Print ours / baseline for every level both systems ran."""
    by_key = {(r["system"], r["concurrency"]): r for r in result["runs"]}
    for (system, level), ours in sorted(by_key.items()):
        base = by_key.get(("baseline", level))
        if system != "ours" or base is None:
            continue
        print(f"  c={level}: p95 ours/baseline = {ours['p95_ms'] / max(base['p95_ms'], 0.1):.2f}"
              f", msg/s ours/baseline = {ours['msgs_per_s'] / max(base['msgs_per_s'], 0.1):.2f}")


if __name__ == "__main__":
    sys.exit(main())
