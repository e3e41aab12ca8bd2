#!/bin/sh
# Installs an unpacked repl tarball (docs/OPERATIONS.md, section 1). Run it from anywhere, as
# root; running it again upgrades in place and changes nothing else.
#
#   PREFIX    where bin/, lib/, handlers/ and examples/ go (default /opt/repl)
#   DESTDIR   a staging root prefixed to every path (packaging, tests); no systemctl then
#
# It installs the OCF resource agent as ocf:repl:repl (/usr/lib/ocf/resource.d/repl/repl), the
# systemd unit (/etc/systemd/system/repl-agent.service), bash completion for replctl, and
# creates /etc/repl (mode 0750: resource files hold the shared secret) with agent.env. It never
# touches resource files, the state in /var/lib/repl, or a running agent.
set -eu

PREFIX="${PREFIX:-/opt/repl}"
DESTDIR="${DESTDIR:-}"
CONF_DIR=/etc/repl
OCF_DIR=/usr/lib/ocf/resource.d/repl
UNIT_DIR=/etc/systemd/system
COMPLETION_DIR=/usr/share/bash-completion/completions

src="$(cd "$(dirname "$0")" && pwd)"
case "$PREFIX" in
  /*) ;;
  *) echo "install.sh: PREFIX must be an absolute path, not \"$PREFIX\"" >&2; exit 2 ;;
esac
if [ ! -x "$src/bin/repl-agent" ] || ! ls "$src"/lib/*.jar >/dev/null 2>&1; then
  echo "install.sh: run it from an unpacked tarball (bin/ and lib/ beside it): $src" >&2
  exit 2
fi

root="$DESTDIR$PREFIX"
install -d -m 0755 "$root/bin" "$root/lib" "$root/examples" "$root/handlers"
install -m 0755 "$src"/bin/* "$root/bin/"
# The launchers put every jar of lib/ on the class path: an upgrade must not leave old ones
# (nor replctl's class-data archive of them, which it builds again on first use).
rm -f "$root"/lib/*.jar "$root"/lib/*.jsa
install -m 0644 "$src"/lib/*.jar "$root/lib/"
install -m 0644 "$src/README.md" "$root/README.md"
install -m 0644 "$src"/packaging/examples/*.toml "$root/examples/"
if [ -d "$src/handlers" ] && [ -n "$(ls -A "$src/handlers")" ]; then
  install -m 0755 "$src"/handlers/* "$root/handlers/"
fi

if [ -f "$src/ocf/repl" ]; then
  install -d -m 0755 "$DESTDIR$OCF_DIR"
  install -m 0755 "$src/ocf/repl" "$DESTDIR$OCF_DIR/repl"
fi

install -d -m 0755 "$DESTDIR$UNIT_DIR"
sed "s|/opt/repl|$PREFIX|g" "$src/packaging/repl-agent.service" > "$DESTDIR$UNIT_DIR/repl-agent.service.new"
chmod 0644 "$DESTDIR$UNIT_DIR/repl-agent.service.new"
mv "$DESTDIR$UNIT_DIR/repl-agent.service.new" "$DESTDIR$UNIT_DIR/repl-agent.service"

if [ -f "$src/completion/replctl" ]; then
  install -d -m 0755 "$DESTDIR$COMPLETION_DIR"
  install -m 0644 "$src/completion/replctl" "$DESTDIR$COMPLETION_DIR/replctl"
fi

install -d -m 0750 "$DESTDIR$CONF_DIR"
if [ ! -e "$DESTDIR$CONF_DIR/agent.env" ]; then
  cat > "$DESTDIR$CONF_DIR/agent.env" <<'ENV'
# Options for repl-agent under systemd (repl-agent.service), besides --config-dir /etc/repl.
# E.g. metrics for Prometheus (docs/OPERATIONS.md, section 8), or this node's name:
# REPL_AGENT_ARGS="--metrics-listen 127.0.0.1:9942 --node alpha"
REPL_AGENT_ARGS=""
# JVM options; the launcher's defaults apply when unset.
# REPL_JAVA_OPTS="-Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError"
ENV
  chmod 0644 "$DESTDIR$CONF_DIR/agent.env"
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
fi

echo "repl installed in $root"
echo "  resource files: $CONF_DIR/NAME.toml (examples in $PREFIX/examples)"
echo "  then: systemctl enable --now repl-agent; $PREFIX/bin/replctl status"
