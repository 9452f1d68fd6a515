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
