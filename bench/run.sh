#!/usr/bin/env bash
# Runs BENCHMARKS.md's workloads against minichat-server and ngircd, alternating, and prints the
# median of each figure. Needs chatload (../shared/tools/chatload, or CHATLOAD=path) and, for the
# peer, ngircd (../shared/tools/chatload/peers/ngircd.sh installs and starts it).
#
#   bench/run.sh [RUNS]        # default 3 runs per workload and server
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shared=../shared/tools/chatload
chatload=${CHATLOAD:-target/chatload/release/chatload}
if [ ! -x "$chatload" ]; then
    cargo build --release --manifest-path "$shared/Cargo.toml" --target-dir target/chatload
fi
cargo build --release -p minichat-server
ulimit -n 20000

minichat_port=17777; ngircd_port=16667
start_minichat() {
    ./target/release/minichat-server --listen 127.0.0.1:$minichat_port --max-per-address 0 --msg-rate 0 \
        --max-clients 10000 --max-queue 1000000 >/dev/null 2>>target/bench-minichat.log &
    minichat_pid=$!
}
start_ngircd() {
    bash "$shared/peers/ngircd.sh" $ngircd_port >>target/bench-ngircd.log 2>&1 &
    sleep 2
    ngircd_pid=$(pgrep -f "^/usr/sbin/ngircd" | head -1)
}
stop_servers() {
    kill "$minichat_pid" 2>/dev/null || true
    pkill -f "^/usr/sbin/ngircd" 2>/dev/null || true
    sleep 1
}
trap stop_servers EXIT
start_minichat; start_ngircd

args_minichat() { minichat_args=(--addr 127.0.0.1:$minichat_port --register 'USER {nick}\n' --ready 'WELCOME {nick}'
    --send 'MSG {text}\n' --quit 'QUIT\n' --expect-echo --server-pid $minichat_pid); }
args_irc() { irc_join=(--addr 127.0.0.1:$ngircd_port --register 'NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n'
    --step ' 001 {nick} =>JOIN #bench\r\n' --ready ' 366 {nick} ' --send 'PRIVMSG #bench :{text}\r\n'
    --quit 'QUIT :bye\r\n' --pong --server-pid $ngircd_pid)
irc_idle=(--addr 127.0.0.1:$ngircd_port --register 'NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n'
    --ready ' 376 {nick} ' --pong --server-pid $ngircd_pid); }

declare -A workload=(
    [W1]="--clients 100 --messages 200 --payload 64 --window 8 --timeout 120 --connect-rate 1000"
    [W2]="--clients 1000 --senders 10 --messages 200 --payload 64 --window 8 --timeout 120 --connect-rate 1000"
    [W3]="--clients 100 --messages 100 --rate 10 --payload 64 --timeout 60 --connect-rate 1000"
    [W4]="--clients 5000 --idle 10 --connect-rate 1000"
)
out=target/bench-results.jsonl; : >"$out"
for w in W1 W2 W3 W4; do
    for i in $(seq "$runs"); do
        # Memory per connection is measured from a fresh server's starting RSS.
        if [ $w = W4 ]; then stop_servers; start_minichat; start_ngircd; fi
        args_minichat; args_irc
        # minichat-release-all: the same server, but chatload frees a window slot only once every
        # receiver has read the message (one generation in flight), the floor W1's and W2's
        # latency have on this machine (BENCHMARKS.md, "What limits the latency figures").
        servers="ngircd minichat"; case $w in W1 | W2) servers="$servers minichat-release-all" ;; esac
        for server in $servers; do
            if [ $server = minichat ]; then args=("${minichat_args[@]}");
            elif [ $server = minichat-release-all ]; then args=("${minichat_args[@]}" --window-release all);
            elif [ $w = W4 ]; then args=("${irc_idle[@]}"); else args=("${irc_join[@]}"); fi
            # shellcheck disable=SC2086
            "$chatload" "${args[@]}" ${workload[$w]} 2>>target/bench-chatload.log | tail -1 |
                python3 -c "import json,sys; d=json.load(sys.stdin); d['server']='$server'; d['workload']='$w'; print(json.dumps(d))" >>"$out"
            sleep 2   # let the server fall quiet (minichat returns freed memory then)
        done
    done
done
# W5: 5000 clients joining the one room at 2000/s, for minichat.
for i in $(seq "$runs"); do
    stop_servers; start_minichat; sleep 1; args_minichat
    "$chatload" "${minichat_args[@]}" --clients 5000 --idle 5 --connect-rate 2000 2>>target/bench-chatload.log | tail -1 |
        python3 -c "import json,sys; d=json.load(sys.stdin); d['server']='minichat'; d['workload']='W5'; print(json.dumps(d))" >>"$out"
    sleep 2
done
python3 bench/summarize.py "$out"
