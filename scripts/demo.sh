#!/usr/bin/env bash
# The demo, on a fresh machine: installs what it needs, builds ministry, makes a busybox
# image from Debian's static busybox, runs real containers from it, and walks the image
# through its lifecycle.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run the demo as root" >&2; exit 1; }
if [ -z "${MINISTRY_DEMO_NETNS:-}" ]; then
  scripts/install-deps.sh
  cargo build --release -p ministry --quiet
  # The rest runs in a private network namespace: the demo's bridge, veths and nftables
  # rules vanish with it and never touch this machine's network.
  exec unshare --net env MINISTRY_DEMO_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
M="target/release/ministry --root $work/root --exec-root $work/run"
step() { printf '\n\033[1m$ ministry %s\033[0m\n' "$*"; }

scripts/mkbusybox.sh "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
step import --change 'CMD ["/bin/sh"]' busybox.tar busybox:latest
$M import --change 'CMD ["/bin/sh"]' "$work/busybox.tar" busybox:latest
step run --rm busybox echo hello from a ministry container
$M run --rm busybox echo hello from a ministry container
step run --rm -u nobody -w /tmp/work busybox sh -c 'id; pwd; grep ^Cap /proc/self/status'
$M run --rm -u nobody -w /tmp/work busybox sh -c 'id; pwd; grep ^Cap /proc/self/status'
step run --rm busybox sh -c 'exit 3'
$M run --rm busybox sh -c 'exit 3' || echo "exit code: $?"
step run -d --name ticker busybox sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.5; done; sleep 60'
$M run -d --name ticker busybox sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.5; done; sleep 60'
sleep 1.7
step ps
$M ps
step logs -t ticker
$M logs -t ticker
step stop -t 1 ticker
$M stop -t 1 ticker
step ps -a
$M ps -a
step "inspect ticker   (its State)"
$M inspect ticker | sed -n '/"State"/,/}/p'
step rm ticker
$M rm ticker
step run -d --name flaky --restart on-failure:2 busybox sh -c "'echo attempt; exit 1'"
$M run -d --name flaky --restart on-failure:2 busybox sh -c 'echo attempt; exit 1'
sleep 1
step "inspect -f '{{.State.Status}} restarts={{.RestartCount}} exit={{.State.ExitCode}}' flaky"
$M inspect -f '{{.State.Status}} restarts={{.RestartCount}} exit={{.State.ExitCode}}' flaky
step logs flaky
$M logs flaky
step rm flaky
$M rm flaky
step "run -v /dbdata --name db1 busybox sh -c 'echo precious > /dbdata/db'   (a data-volume container)"
$M run -v /dbdata --name db1 busybox sh -c 'echo precious > /dbdata/db'
step run --rm --volumes-from db1 -v "\$work/backup:/backup" busybox tar cf /backup/db.tar /dbdata
$M run --rm --volumes-from db1 -v "$work/backup:/backup" busybox tar cf /backup/db.tar /dbdata
ls -l "$work/backup"
step volume ls
$M volume ls
step rm -v db1
$M rm -v db1
$M volume ls
step run -d --name web -p 8080:80 busybox sh -c "'mkdir /www; echo hello over the bridge > /www/index.html; exec httpd -f -p 80 -h /www'"
$M run -d --name web -p 8080:80 busybox sh -c 'mkdir /www; echo hello over the bridge > /www/index.html; exec httpd -f -p 80 -h /www'
step port web
$M port web
step "inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}' web"
$M inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}' web
sleep 0.5
echo '$ busybox wget -qO- http://127.0.0.1:8080/   (from the host, through the published port)'
busybox wget -qO- http://127.0.0.1:8080/
step run --rm busybox sh -c "'ping -c1 172.17.0.2 | head -2'"   "(another container reaches web)"
$M run --rm busybox sh -c 'ping -c1 172.17.0.2 | head -2'
step rm -f web
$M rm -f web
mkdir -p "$work/app"
printf 'hello from a built image\n' > "$work/app/greeting.txt"
printf '.git\n*.tmp\n' > "$work/app/.dockerignore"
cat > "$work/app/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG WHO=world
ENV WHO=$WHO
COPY greeting.txt /app/
RUN echo "built for $WHO" > /app/built.txt
WORKDIR /app
CMD ["sh", "-c", "cat greeting.txt built.txt"]
DOCKERFILE
step build -t greeter --build-arg WHO=ministry app/
$M build -t greeter --build-arg WHO=ministry "$work/app"
step "build -t greeter app/   (again: every step from the cache)"
$M build -t greeter "$work/app" --build-arg WHO=ministry | grep -c 'Using cache'
step run --rm greeter
$M run --rm greeter
step rmi greeter
$M rmi greeter
step tag busybox me/busybox:1.0
$M tag busybox me/busybox:1.0
step images
$M images
step history busybox
$M history busybox
step "image inspect busybox   (first lines)"
# (Through a file: a reader that stops early would cut the writer off, which pipefail sees.)
$M image inspect busybox > "$work/inspect.json"
head -20 "$work/inspect.json"
step save -o busybox-save.tar busybox
$M save -o "$work/busybox-save.tar" busybox
tar -tvf "$work/busybox-save.tar"
step "--root other load -i busybox-save.tar"
target/release/ministry --root "$work/other" load -i "$work/busybox-save.tar"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/registry" "$port" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
regpid=$!
trap 'kill $regpid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
step tag busybox 127.0.0.1:$port/demo/busybox:1.0 "&&" push 127.0.0.1:$port/demo/busybox:1.0
$M tag busybox 127.0.0.1:$port/demo/busybox:1.0
$M push 127.0.0.1:$port/demo/busybox:1.0
step "--root fresh run --rm 127.0.0.1:$port/demo/busybox:1.0 echo pulled from a registry"
target/release/ministry --root "$work/fresh" --exec-root "$work/fresh-run" run --rm 127.0.0.1:$port/demo/busybox:1.0 echo pulled from a registry
step "rmi me/busybox:1.0 busybox 127.0.0.1:$port/demo/busybox:1.0"
$M rmi me/busybox:1.0 busybox 127.0.0.1:$port/demo/busybox:1.0
step system check
$M system check
