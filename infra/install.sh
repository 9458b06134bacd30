#!/bin/sh
# Installs, upgrades or removes OComms from an unpacked release bundle (run it from the
# bundle: ./install.sh). Running it again changes nothing; running a newer bundle's
# install.sh over an older install replaces the program, keeps the configuration and the
# data, and restarts the service (which migrates the database as it starts).
#
# Layout (every path under --root DIR when given):
#   PREFIX (/opt/ocomms)            the program: bin/ocomms, spin.toml, components/, ...
#   /etc/ocomms/ocomms.env          settings (OCOMMS_* and SPIN_VARIABLE_* lines), kept
#   /var/lib/ocomms                 data: the managed PostgreSQL, secrets, files (mode 0750)
#   /etc/systemd/system/ocomms.service, or where systemd is not running:
#   PREFIX/bin/ocommsctl            start|stop|status|restart under start-stop-daemon,
#                                   logging to /var/log/ocomms/ocomms.log
#   PREFIX/bin/ocomms-run           any `ocomms` command with the settings, as the service user
#   PREFIX/bin/ocomms-admin         `ocomms-run admin ...`
set -eu

usage() {
	cat <<'EOF'
usage: ./install.sh [options]
  --root DIR          install everything under DIR (staging for packages, tests, or an
                      install without root); the service then runs under ocommsctl, and the
                      systemd unit written there names the paths without DIR
  --prefix DIR        the program's directory (default /opt/ocomms)
  --user NAME         the service user (default ocomms: a system user, created if missing)
  --listen ADDR       address the service listens on (default 127.0.0.1:8080; new config only)
  --public-url URL    the URL people use, e.g. https://chat.example.com (default
                      http://ADDR; new config only)
  --no-start          install or upgrade, but neither start nor restart the service
  --uninstall         stop the service, remove the program and the unit; keep the
                      configuration and the data
  --purge             with --uninstall: also remove the configuration, data and logs
  -h, --help          this text
EOF
}

ROOT=
PREFIX=/opt/ocomms
SERVICE_USER=ocomms
LISTEN=127.0.0.1:8080
PUBLIC_URL=
START=yes
UNINSTALL=no
PURGE=no
while [ $# -gt 0 ]; do
	case "$1" in
	--root) ROOT=${2:?--root needs a directory}; shift ;;
	--prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
	--user) SERVICE_USER=${2:?--user needs a name}; shift ;;
	--listen) LISTEN=${2:?--listen needs an address}; shift ;;
	--public-url) PUBLIC_URL=${2:?--public-url needs a URL}; shift ;;
	--no-start) START=no ;;
	--uninstall) UNINSTALL=yes ;;
	--purge) PURGE=yes ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ "$PURGE" = yes ] && [ "$UNINSTALL" = no ]; then
	echo "install.sh: --purge goes with --uninstall" >&2
	exit 2
fi
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac
if [ -n "$ROOT" ]; then
	mkdir -p "$ROOT"
	ROOT=$(cd "$ROOT" && pwd)
fi

SRC=$(cd "$(dirname "$0")" && pwd)
PROG=$ROOT$PREFIX
CONF_DIR=$ROOT/etc/ocomms
ENV_FILE=$CONF_DIR/ocomms.env
DATA=$ROOT/var/lib/ocomms
LOG_DIR=$ROOT/var/log/ocomms
RUN_DIR=$ROOT/run/ocomms
UNIT=$ROOT/etc/systemd/system/ocomms.service
IS_ROOT=no
[ "$(id -u)" = 0 ] && IS_ROOT=yes

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# systemd manages the service only for a real install (no --root) on a running systemd.
use_systemd() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

sha256_check() { # DIR: checks DIR/SHA256SUMS quietly
	if command -v sha256sum >/dev/null 2>&1; then
		(cd "$1" && sha256sum -c --quiet --strict SHA256SUMS)
	else
		(cd "$1" && shasum -a 256 -c --quiet SHA256SUMS)
	fi
}

stop_service() {
	if use_systemd && [ -f "$UNIT" ]; then
		systemctl disable --now ocomms >/dev/null 2>&1 || true
	elif [ -x "$PROG/bin/ocommsctl" ]; then
		"$PROG/bin/ocommsctl" stop || true
	fi
}

if [ "$UNINSTALL" = yes ]; then
	stop_service
	rm -rf "$PROG" "$UNIT"
	use_systemd && systemctl daemon-reload
	if [ "$PURGE" = yes ]; then
		rm -rf "$CONF_DIR" "$DATA" "$LOG_DIR" "$RUN_DIR"
		say "OComms removed, with its configuration, data and logs (the user $SERVICE_USER stays)."
	else
		say "OComms removed; kept $ENV_FILE and $DATA (--uninstall --purge removes them)."
	fi
	exit 0
fi

if [ ! -f "$SRC/SHA256SUMS" ] || [ ! -x "$SRC/bin/ocomms" ]; then
	die "run install.sh from an unpacked OComms bundle"
fi
say "checking the bundle against SHA256SUMS"
sha256_check "$SRC" || die "the bundle in $SRC is damaged (SHA256SUMS does not match): download and unpack it again"

# The service user: an existing one is used as is, `ocomms` is created as a system user.
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
	[ "$IS_ROOT" = yes ] || die "the user $SERVICE_USER does not exist; as non-root, pass --user $(id -un)"
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /var/lib/ocomms --no-create-home \
			--shell /usr/sbin/nologin --comment "OComms team chat" "$SERVICE_USER"
	else
		adduser --system --group --home /var/lib/ocomms --no-create-home "$SERVICE_USER"
	fi
	say "created the system user $SERVICE_USER"
fi
[ "$IS_ROOT" = yes ] || [ "$SERVICE_USER" = "$(id -un)" ] || die "as non-root, the service user must be you: --user $(id -un)"
SERVICE_GROUP=$(id -gn "$SERVICE_USER")

# Data: only the service user reads it. A root service runs the managed PostgreSQL as the
# `postgres` user (PostgreSQL refuses root), which must reach DATA/pg: it gets the group.
mkdir -p "$DATA" "$CONF_DIR"
DATA_GROUP=$SERVICE_GROUP
if [ "$(id -u "$SERVICE_USER")" = 0 ] && getent group postgres >/dev/null 2>&1; then
	DATA_GROUP=postgres
fi
if [ "$IS_ROOT" = yes ]; then
	chown "$SERVICE_USER:$DATA_GROUP" "$DATA"
fi
chmod 0750 "$DATA"

# Configuration: written once, then the operator's.
if [ -f "$ENV_FILE" ]; then
	say "keeping $ENV_FILE"
else
	[ -n "$PUBLIC_URL" ] || PUBLIC_URL="http://$LISTEN"
	umask 077
	cat >"$ENV_FILE" <<EOF
# OComms settings, read by the service and by ocomms-admin: KEY=value lines (quote a value
# with spaces in double quotes). \`ocomms serve --help\` lists every setting; application
# settings are SPIN_VARIABLE_<NAME> (spin.toml [variables]). Restart the service after a change.
OCOMMS_LISTEN=$LISTEN
SPIN_VARIABLE_PUBLIC_URL=$PUBLIC_URL
# Behind a reverse proxy (nginx/, caddy/ in the bundle), count clients by the address it sends:
#SPIN_VARIABLE_CLIENT_ADDRESS_HEADER=x-forwarded-for
# Mail (sign-up links, password resets); without it mail is logged and kept on the admins' outbox page:
#OCOMMS_SMTP_URL=smtp://user:password@mail.example.com:587?tls=required
#OCOMMS_MAIL_FROM="OComms <chat@example.com>"
#SPIN_VARIABLE_INSTALL_ADMINS=you@example.com
# An existing PostgreSQL instead of the managed one in the data directory:
#OCOMMS_DATABASE_URL=postgresql://ocomms:password@db.example.com:5432/ocomms
EOF
	umask 022
	say "wrote $ENV_FILE"
fi
chmod 0600 "$ENV_FILE"
[ "$IS_ROOT" = yes ] && [ "$SERVICE_USER" != root ] && chown root:root "$ENV_FILE"

# The program: copied (or replaced, on an upgrade) only when it differs from the bundle.
CHANGED=no
if [ -f "$PROG/SHA256SUMS" ] && cmp -s "$SRC/SHA256SUMS" "$PROG/SHA256SUMS" && sha256_check "$PROG" >/dev/null 2>&1; then
	say "$PROG is up to date"
else
	[ -d "$PROG" ] && say "$PROG differs from this bundle: replacing it"
	CHANGED=yes
	mkdir -p "$(dirname "$PROG")"
	rm -rf "$PROG.new"
	mkdir "$PROG.new"
	(cd "$SRC" && tar cf - .) | (cd "$PROG.new" && tar xf - --no-same-owner)
	sha256_check "$PROG.new" || die "the copy in $PROG.new does not match SHA256SUMS (disk full?)"
	if [ -d "$PROG" ]; then
		rm -rf "$PROG.old"
		mv "$PROG" "$PROG.old"
	fi
	mv "$PROG.new" "$PROG"
	rm -rf "$PROG.old"
	say "installed $(sed -n 's/^OComms \([^ ]*\).*/\1/p' "$PROG/README" | head -n 1) into $PROG"
fi

# ocomms-run: any `ocomms` command with the install's settings, as the service user
# (backup, migrate --dry-run, ...); ocomms-admin: `ocomms admin ...` through it.
BIN=$PROG/bin/ocomms
write_if_changed() { # FILE MODE: stdin to FILE unless identical
	tmp="$1.tmp.$$"
	cat >"$tmp"
	chmod "$2" "$tmp"
	if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}
write_if_changed "$PROG/bin/ocomms-run" 0755 <<EOF
#!/bin/sh
# \`ocomms ARGS\` with this install's settings, as the service user (written by install.sh).
set -eu
SERVICE_USER="$SERVICE_USER"
export OCOMMS_DATA_DIR="$DATA"
export OCOMMS_MANIFEST="$PROG/spin.toml"
set -a
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a
if [ "\$(id -u)" = 0 ] && [ "\$SERVICE_USER" != root ]; then
	exec setpriv --reuid="\$SERVICE_USER" --regid="$SERVICE_GROUP" --init-groups -- "$BIN" "\$@"
fi
exec "$BIN" "\$@"
EOF
write_if_changed "$PROG/bin/ocomms-admin" 0755 <<EOF
#!/bin/sh
# \`ocomms admin ARGS\` with this install's settings, as the service user (written by install.sh).
exec "$PROG/bin/ocomms-run" admin "\$@"
EOF

# The systemd unit (final paths, also under --root), with this prefix and user.
mkdir -p "$(dirname "$UNIT")"
sed -e "s|/opt/ocomms|$PREFIX|g" -e "s|^User=ocomms|User=$SERVICE_USER|" \
	-e "s|^Group=ocomms|Group=$SERVICE_GROUP|" "$PROG/systemd/ocomms.service" | write_if_changed "$UNIT" 0644

if use_systemd; then
	rm -f "$PROG/bin/ocommsctl"
	systemctl daemon-reload
	if [ "$START" = yes ]; then
		systemctl enable ocomms >/dev/null 2>&1
		if [ "$CHANGED" = yes ]; then systemctl restart ocomms; else systemctl start ocomms; fi
	fi
	LOGS="journalctl -u ocomms"
else
	# No systemd: a supervisor script around start-stop-daemon (or setpriv).
	mkdir -p "$LOG_DIR" "$RUN_DIR"
	[ "$IS_ROOT" = yes ] && chown "$SERVICE_USER:$SERVICE_GROUP" "$LOG_DIR"
	chmod 0750 "$LOG_DIR"
	write_if_changed "$PROG/bin/ocommsctl" 0755 <<EOF
#!/bin/sh
# ocommsctl start|stop|status|restart: runs OComms where systemd does not (written by
# install.sh). Logs go to $LOG_DIR/ocomms.log.
set -eu
SERVICE_USER="$SERVICE_USER"
PIDFILE="$RUN_DIR/ocomms.pid"
LOG="$LOG_DIR/ocomms.log"
pid() { [ -f "\$PIDFILE" ] && cat "\$PIDFILE"; }
running() { p=\$(pid) && [ -n "\$p" ] && kill -0 "\$p" 2>/dev/null; }
start() {
	if running; then echo "ocomms is running (pid \$(pid))"; return 0; fi
	export OCOMMS_DATA_DIR="$DATA"
	export OCOMMS_MANIFEST="$PROG/spin.toml"
	set -a
	# shellcheck source=/dev/null
	. "$ENV_FILE"
	set +a
	cd "$DATA"
	if command -v start-stop-daemon >/dev/null 2>&1; then
		if [ "\$(id -u)" = 0 ]; then set -- --chuid "\$SERVICE_USER:$SERVICE_GROUP"; else set --; fi
		# shellcheck disable=SC2016 # \$0 and \$1 are the inner shell's
		start-stop-daemon --start --background --make-pidfile --pidfile "\$PIDFILE" --chdir "$DATA" "\$@" \\
			--startas /bin/sh -- -c 'exec "\$0" serve >>"\$1" 2>&1' "$BIN" "\$LOG"
	else
		if [ "\$(id -u)" = 0 ] && [ "\$SERVICE_USER" != root ]; then
			set -- setpriv --reuid="\$SERVICE_USER" --regid="$SERVICE_GROUP" --init-groups --
		else
			set --
		fi
		# shellcheck disable=SC2016 # \$0 and \$1 are the inner shell's
		"\$@" /bin/sh -c 'exec "\$0" serve >>"\$1" 2>&1' "$BIN" "\$LOG" </dev/null &
		echo \$! >"\$PIDFILE"
	fi
	echo "ocomms started (pid \$(pid)); log: \$LOG"
}
stop() {
	if ! running; then rm -f "\$PIDFILE"; echo "ocomms is not running"; return 0; fi
	p=\$(pid)
	# SIGTERM: the host drains requests and stops its managed PostgreSQL.
	kill -TERM "\$p"
	i=0
	while kill -0 "\$p" 2>/dev/null && [ \$i -lt 60 ]; do sleep 0.5; i=\$((i + 1)); done
	if kill -0 "\$p" 2>/dev/null; then kill -KILL "\$p"; fi
	rm -f "\$PIDFILE"
	echo "ocomms stopped"
}
case "\${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if running; then echo "ocomms is running (pid \$(pid))"; else echo "ocomms is not running"; exit 3; fi ;;
*) echo "usage: \$0 start|stop|status|restart" >&2; exit 2 ;;
esac
EOF
	if [ "$START" = yes ]; then
		if [ "$CHANGED" = yes ]; then "$PROG/bin/ocommsctl" restart; else "$PROG/bin/ocommsctl" start; fi
	fi
	LOGS="$LOG_DIR/ocomms.log"
fi

if [ "$START" = no ]; then
	say "installed; not started (--no-start)"
	exit 0
fi

# Wait until it serves: the first start creates the database and compiles the component.
URL_LISTEN=$(sed -n 's/^OCOMMS_LISTEN=//p' "$ENV_FILE" | tail -n 1 | tr -d '"')
[ -n "$URL_LISTEN" ] || URL_LISTEN=127.0.0.1:8080
# An address on every interface is reached on loopback.
case "$URL_LISTEN" in
0.0.0.0:*) URL_LISTEN="127.0.0.1:${URL_LISTEN#0.0.0.0:}" ;;
"[::]:"*) URL_LISTEN="[::1]:${URL_LISTEN#"[::]:"}" ;;
esac
READY=http://$URL_LISTEN/readyz
fetch() {
	if command -v curl >/dev/null 2>&1; then curl -fsS -m 5 -o /dev/null "$1" 2>/dev/null
	elif command -v wget >/dev/null 2>&1; then wget -q -T 5 -O /dev/null "$1"
	else return 99; fi
}
say "waiting for $READY"
i=0
while :; do
	rc=0
	fetch "$READY" || rc=$?
	[ $rc -eq 0 ] && break
	if [ $rc -eq 99 ]; then say "(no curl or wget: not waiting; check $LOGS)"; break; fi
	i=$((i + 1))
	if [ $i -ge 300 ]; then
		say "OComms did not become ready within 5 minutes; its log ($LOGS):"
		[ -f "$LOGS" ] && tail -n 30 "$LOGS"
		exit 1
	fi
	if use_systemd; then
		if systemctl is-failed --quiet ocomms; then
			say "OComms failed to start; its log:"
			journalctl -u ocomms -n 30 --no-pager || true
			exit 1
		fi
	elif ! "$PROG/bin/ocommsctl" status >/dev/null 2>&1; then
		say "OComms stopped while starting; its log ($LOGS):"
		tail -n 30 "$LOGS"
		exit 1
	fi
	sleep 1
done

PUBLIC=$(sed -n 's/^SPIN_VARIABLE_PUBLIC_URL=//p' "$ENV_FILE" | tail -n 1 | tr -d '"')
SUDO=
[ "$IS_ROOT" = yes ] && SUDO="sudo "
cat <<EOF

OComms is serving at http://$URL_LISTEN (public URL: ${PUBLIC:-unset}).
Settings: $ENV_FILE   Data: $DATA   Log: $LOGS
Create the first admin and their workspace (it prints a generated password; add
--password-stdin to give one on standard input instead):
  ${SUDO}$PROG/bin/ocomms-admin create-user --email you@example.com --name "Your Name" --workspace "Acme"
EOF
