"""Prints the median of each BENCHMARKS.md figure from chatload's JSON lines (bench/run.sh)."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]


def median(workload, server, key):
    values = [key(r) for r in rows if r["workload"] == workload and r["server"] == server]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, scale=1.0, digits=2, unit=""):
    return "—" if value is None else f"{value / scale:.{digits}f}{unit}"


lat = lambda p: (lambda r: r.get("latency_us", {}).get(p))  # noqa: E731
for server in ("minichat", "ngircd"):
    print(f"== {server}")
    for w in ("W1", "W2"):
        print(
            f"{w}: deliveries/s {fmt(median(w, server, lambda r: r['deliveries_per_s']), 1e6, unit=' M')}, "
            f"per server CPU-s {fmt(median(w, server, lambda r: r.get('deliveries_per_server_cpu_s')), 1e6, unit=' M')}, "
            f"p50 {fmt(median(w, server, lat('p50')), 1e3, 1, ' ms')}, p99 {fmt(median(w, server, lat('p99')), 1e3, 1, ' ms')}, "
            f"missing {max((r['deliveries_missing'] for r in rows if r['workload'] == w and r['server'] == server), default='—')}"
        )
    print(
        f"W3: p50 {fmt(median('W3', server, lat('p50')), 1e3, 2, ' ms')}, p99 {fmt(median('W3', server, lat('p99')), 1e3, 2, ' ms')}, "
        f"max {fmt(median('W3', server, lat('max')), 1e3, 2, ' ms')}"
    )
    print(f"W4: {fmt(median('W4', server, lambda r: r.get('server_kib_per_conn')), 1, 2, ' KiB')} per idle registered connection")
    if server == "minichat":
        print(
            f"W5: all registered in {fmt(median('W5', server, lambda r: r.get('connect_register_s')), 1, 2, ' s')}, "
            f"{fmt(median('W5', server, lambda r: r.get('server_kib_per_conn')), 1, 2, ' KiB')} per connection after"
        )

# The targets (BENCHMARKS.md), each judged on the medians and, for the ratios to ngircd, also
# run by run: the i-th minichat run against the i-th ngircd run, which ran just before it.
def runs(workload, server):
    return [r for r in rows if r["workload"] == workload and r["server"] == server]


def verdict(ok):
    return "—" if ok is None else ("met" if ok else "NOT MET")


def ratio_check(w, key, want, show):
    """Judges want(minichat, ngircd) on the medians and on each run pair; returns the medians'
    verdict (None without data) and the run pairs as show(minichat, ngircd) shows them."""
    mine, peer = median(w, "minichat", key), median(w, "ngircd", key)
    ok = None if mine is None or peer is None else want(mine, peer)
    pairs = [
        (key(m), key(n)) for m, n in zip(runs(w, "minichat"), runs(w, "ngircd")) if key(m) is not None and key(n) is not None
    ]
    per_run = ", ".join(f"{show(m, n)}{'' if want(m, n) else ' (miss)'}" for m, n in pairs)
    return ok, per_run


print("== targets")
cpu = lambda r: r.get("deliveries_per_server_cpu_s")  # noqa: E731
for w in ("W1", "W2"):
    ok, per_run = ratio_check(w, cpu, lambda m, n: m >= 2 * n, lambda m, n: f"{m / n:.1f}x")
    print(f"{w} deliveries per server CPU-s >= 2x ngircd: {verdict(ok)} (runs: {per_run})")
    ok, per_run = ratio_check(w, lat("p99"), lambda m, n: m <= n / 4, lambda m, n: f"{m / 1e3:.1f}/{n / 4e3:.1f} ms")
    print(f"{w} p99 <= 1/4 of ngircd's: {verdict(ok)} (runs, minichat/bound: {per_run})")
    # Context, not a target: the same server while chatload itself keeps one generation in flight
    # (--window-release all). No server can impose that pacing (BENCHMARKS.md explains why).
    floor = [lat("p99")(r) for r in runs(w, "minichat-release-all")]
    bounds = [lat("p99")(n) / 4 for n in runs(w, "ngircd")]
    if floor:
        pairs = ", ".join(f"{f / 1e3:.1f}/{b / 1e3:.1f} ms" for f, b in zip(floor, bounds))
        print(f"{w} p99 with one generation in flight (chatload --window-release all): "
              f"{statistics.median(floor) / 1e3:.1f} ms (runs, floor/bound: {pairs})")
w3 = median("W3", "minichat", lat("p99"))
print(f"W3 p99 <= 1 ms: {verdict(None if w3 is None else w3 <= 1000)}")
w4 = median("W4", "minichat", lambda r: r.get("server_kib_per_conn"))
print(f"W4 <= 2 KiB per idle registered connection: {verdict(None if w4 is None else w4 <= 2)}")
w5_s = median("W5", "minichat", lambda r: r.get("connect_register_s"))
w5_kib = median("W5", "minichat", lambda r: r.get("server_kib_per_conn"))
print(f"W5 <= 5 s and <= 4 KiB per connection: {verdict(None if w5_s is None else w5_s <= 5 and w5_kib <= 4)}")
lost = sum(r.get("deliveries_missing", 0) for r in rows if r["server"] == "minichat")
print(f"no lost delivery: {verdict(lost == 0)} ({lost} missing over all minichat runs)")
